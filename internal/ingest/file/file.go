// Package file lists the inputs named on a command line: files, folders
// walked recursively in lexical order (so the S3 key layout
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/… reads in time order per
// region), and "-" for standard input.
package file

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parapet-sec/parapet/internal/ingest"
)

// Inputs expands paths into inputs. stdin is read for "-". Hidden files and
// folders (names starting with ".") inside walked folders are passed over.
//
// A path that cannot be read (missing, unreadable, a folder that cannot be
// walked) becomes an input that fails when opened, in its place among the
// others: it is reported as bad input beside them and the rest is still
// read. Inputs returns an error only when no path could be read at all.
func Inputs(paths []string, stdin io.Reader) ([]ingest.Input, error) {
	var out []ingest.Input
	var errs []error
	readable := 0
	bad := func(path string, err error) {
		errs = append(errs, err)
		out = append(out, ingest.Input{Name: path, Size: 0, Open: func() (io.ReadCloser, error) { return nil, err }})
	}
	for _, p := range paths {
		if p == "-" {
			out = append(out, ingest.Input{Name: "(stdin)", Size: -1, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(stdin), nil
			}})
			readable++
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			bad(p, err)
			continue
		}
		if !info.IsDir() {
			out = append(out, open(p, info.Size()))
			readable++
			continue
		}
		readable++
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == p {
					return err
				}
				bad(path, fmt.Errorf("walk %s: %w", path, err))
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				bad(path, err)
				return nil
			}
			out = append(out, open(path, info.Size()))
			return nil
		})
		if err != nil {
			readable--
			bad(p, fmt.Errorf("walk %s: %w", p, err))
		}
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no input files"))
	}
	if readable == 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func open(path string, size int64) ingest.Input {
	return ingest.Input{Name: path, Size: size, Open: func() (io.ReadCloser, error) { return openFile(path) }}
}

// SortByTime orders inputs by the time AWS wrote into their names (the
// _YYYYMMDDTHHMMZ_ of CloudTrail and VPC Flow Logs objects under the S3
// key layout), so that several accounts and regions interleave in event
// time, as behavioural models need. Inputs without such a time keep their
// order, ahead of the others; ties keep their order.
func SortByTime(in []ingest.Input) {
	slices.SortStableFunc(in, func(a, b ingest.Input) int {
		return strings.Compare(nameTime(a.Name), nameTime(b.Name))
	})
}

// NameTime returns the YYYYMMDDTHHMMZ AWS writes into a log file's name
// (CloudTrail, VPC Flow Logs), or "": strings that sort in time order.
func NameTime(path string) string { return nameTime(path) }

// nameTime returns the YYYYMMDDTHHMMZ in a file name, or "".
func nameTime(path string) string {
	base := filepath.Base(path)
	for i := 0; i+15 <= len(base); i++ {
		if base[i] != '_' || i+15 >= len(base) {
			continue
		}
		s := base[i+1 : i+15]
		if s[8] == 'T' && s[13] == 'Z' && digits(s[:8]) && digits(s[9:13]) && (i+15 == len(base) || base[i+15] == '_' || base[i+15] == '.') {
			return s
		}
	}
	return ""
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

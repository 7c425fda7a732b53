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
	"strings"

	"github.com/parapet-sec/parapet/internal/ingest"
)

// Inputs expands paths into inputs. stdin is read for "-". Hidden files and
// folders (names starting with ".") inside walked folders are passed over.
func Inputs(paths []string, stdin io.Reader) ([]ingest.Input, error) {
	var out []ingest.Input
	var errs []error
	for _, p := range paths {
		if p == "-" {
			out = append(out, ingest.Input{Name: "(stdin)", Size: -1, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(stdin), nil
			}})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.IsDir() {
			out = append(out, open(p, info.Size()))
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
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
				return err
			}
			out = append(out, open(path, info.Size()))
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("walk %s: %w", p, err))
		}
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no input files"))
	}
	return out, errors.Join(errs...)
}

func open(path string, size int64) ingest.Input {
	return ingest.Input{Name: path, Size: size, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

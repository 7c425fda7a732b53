// Package watch feeds parapet serve from folders: each poll walks the
// folder and spools every file not spooled before at its current size and
// modification time, in the order of the times AWS writes into log file
// names (accounts and regions interleave in event time, as the
// behavioural models need; files without one first, in lexical order). The checkpoint and the spooled body are written in
// one transaction, so a restart neither loses a file nor reads it twice.
package watch

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/ingest/file"
)

// Submitter spools an object once per version (pipeline.SubmitOnce).
type Submitter interface {
	SubmitOnce(ctx context.Context, source, key, version string, body []byte) (bool, error)
	Checkpoint(ctx context.Context, source, key string) (string, error)
}

// Folder watches one folder.
type Folder struct {
	Path    string
	Poll    time.Duration
	MaxSize int64 // larger files are reported and skipped
	Sink    Submitter
	Log     *slog.Logger
	// Settle: a file younger than this is left for the next poll (it may
	// still be being written). Default 2s.
	Settle time.Duration
}

// Run polls until ctx ends.
func (f *Folder) Run(ctx context.Context) error {
	if f.Poll <= 0 {
		f.Poll = 10 * time.Second
	}
	t := time.NewTicker(f.Poll)
	defer t.Stop()
	for {
		if _, err := f.Scan(ctx); err != nil && ctx.Err() == nil {
			f.Log.Error("folder scan failed", "path", f.Path, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Scan spools what is new once, and says how many files it spooled.
func (f *Folder) Scan(ctx context.Context) (int, error) {
	if f.Settle == 0 {
		f.Settle = 2 * time.Second
	}
	if f.Log == nil {
		f.Log = slog.Default()
	}
	source := "folder:" + filepath.Clean(f.Path)
	now := time.Now()
	type found struct{ path, rel, version string }
	var files []found
	err := filepath.WalkDir(f.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			f.Log.Warn("unreadable", "path", p, "err", err)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p != f.Path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || now.Sub(info.ModTime()) < f.Settle {
			return nil
		}
		if f.MaxSize > 0 && info.Size() > f.MaxSize {
			f.Log.Warn("file larger than the intake's limit: skipped", "path", p, "size", info.Size(), "max", f.MaxSize)
			return nil
		}
		rel, _ := filepath.Rel(f.Path, p)
		files = append(files, found{p, rel, fmt.Sprintf("%d:%d", info.Size(), info.ModTime().UnixNano())})
		return nil
	})
	if err != nil {
		return 0, err
	}
	slices.SortStableFunc(files, func(a, b found) int { return strings.Compare(file.NameTime(a.rel), file.NameTime(b.rel)) })
	n := 0
	for _, x := range files {
		if have, err := f.Sink.Checkpoint(ctx, source, x.rel); err != nil {
			return n, err
		} else if have == x.version {
			continue
		}
		body, err := os.ReadFile(x.path)
		if err != nil {
			f.Log.Warn("unreadable", "path", x.path, "err", err)
			continue
		}
		// An empty file is spooled too: the processor reports it as
		// skipped, as parapet events does, once per version.
		ok, err := f.Sink.SubmitOnce(ctx, source, x.rel, x.version, body)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

package lake

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"strings"
)

// Checkpoint is the list of inputs an import has finished, one name a
// line, appended and synced as inputs are done (after the writer flushed
// their events), so that an interrupted import resumes where it stopped.
// An input done but not yet listed is read again; its events are passed
// over as copies.
type Checkpoint struct {
	f    *os.File
	done map[string]bool
}

// OpenCheckpoint opens (creating) the checkpoint file at path.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	done := map[string]bool{}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// A line cut by a crash has no newline: it is not trusted.
	lines := strings.Split(string(data), "\n")
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			done[l] = true
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	if n := len(lines[len(lines)-1]); n > 0 {
		// Drop the cut line so the next one starts on a line of its own.
		if err := f.Truncate(int64(len(data) - n)); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &Checkpoint{f: f, done: done}, nil
}

// Done says whether name is listed.
func (c *Checkpoint) Done(name string) bool { return c.done[name] }

// Len is how many inputs are listed.
func (c *Checkpoint) Len() int { return len(c.done) }

// Mark lists names, durably.
func (c *Checkpoint) Mark(names ...string) error {
	w := bufio.NewWriter(c.f)
	for _, n := range names {
		if c.done[n] || strings.ContainsAny(n, "\n") {
			continue
		}
		c.done[n] = true
		w.WriteString(n)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return c.f.Sync()
}

// Close closes the file.
func (c *Checkpoint) Close() error { return c.f.Close() }

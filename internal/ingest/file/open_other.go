//go:build !unix

package file

import "os"

// openFile is os.Open (see open_unix.go).
func openFile(path string) (*os.File, error) { return os.Open(path) }

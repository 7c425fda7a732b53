package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/parapet-sec/parapet/internal/store"
)

// storeExists stops a command that reads the store, or decides what it
// holds, when there is none: opening it would create an empty one (and
// its folder) where a mistyped --db or the wrong working folder points.
// PostgreSQL stores are opened as they are.
func storeExists(path string) error {
	if path == "" {
		path = store.DefaultPath
	}
	if store.IsPostgres(path) {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no store at %s: nothing has been recorded there (--db names the store)", path)
	} else if err != nil {
		return err
	}
	return nil
}

package respond

import (
	"os"
	"testing"

	"github.com/parapet-sec/parapet/internal/pgtest"
)

// TestMain stops the PostgreSQL cluster the Postgres variants of the
// tests start: a test process must not leave it running.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

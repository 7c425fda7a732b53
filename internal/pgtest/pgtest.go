// Package pgtest starts a throwaway PostgreSQL cluster for tests (the
// Debian package's initdb and pg_ctl; scripts/test-deps.sh installs it),
// once per test binary, and gives each test a database of its own.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

var (
	once    sync.Once
	base    string
	port    int
	dataDir string
	errUp   error
	n       int
	mu      sync.Mutex
	asUser  []string // runuser -u postgres -- when running as root
)

func bin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	sort.Strings(ms)
	if len(ms) == 0 {
		return "", fmt.Errorf("%s not found (install postgresql: scripts/test-deps.sh)", name)
	}
	return ms[len(ms)-1], nil
}

func run(name string, args ...string) error {
	p, err := bin(name)
	if err != nil {
		return err
	}
	cmd := exec.Command(p, args...)
	if len(asUser) > 0 {
		cmd = exec.Command(asUser[0], append(append(asUser[1:], p), args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out)
	}
	return nil
}

func start() error {
	if u, _ := user.Current(); u != nil && u.Uid == "0" {
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	var err error
	if base, err = os.MkdirTemp("", "parapet-pg-"); err != nil {
		return err
	}
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
	dataDir = filepath.Join(base, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		return err
	}
	if len(asUser) > 0 {
		if out, err := exec.Command("chown", "postgres:postgres", dataDir, base).CombinedOutput(); err != nil {
			return fmt.Errorf("chown: %v: %s", err, out)
		}
	}
	if err := run("initdb", "-D", dataDir, "-A", "trust", "-U", "parapet", "--no-sync"); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, base)
	return run("pg_ctl", "-D", dataDir, "-o", opts, "-l", filepath.Join(base, "log"), "-w", "-t", "60", "start")
}

// URL starts the cluster if needed and returns the URL of a new, empty
// database. Without PostgreSQL the test skips, or fails under CI=true.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { errUp = start() })
	if errUp != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", errUp)
		}
		t.Skipf("no PostgreSQL: %v", errUp)
	}
	mu.Lock()
	n++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), n)
	mu.Unlock()
	admin := fmt.Sprintf("postgres://parapet@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(admin, "/postgres?", "/"+name+"?", 1)
}

// Stop ends the cluster (call from TestMain).
func Stop() {
	if dataDir == "" {
		return
	}
	_ = run("pg_ctl", "-D", dataDir, "-m", "immediate", "-w", "stop")
	os.RemoveAll(base)
}

// Package awstest starts a real AWS API emulator for tests: moto_server
// (moto 5.2.1 on these machines), on a free loopback port, with the
// product pointed at it through AWS_ENDPOINT_URL. Without moto_server the
// test is skipped with the reason, except under CI=true, where a missing
// emulator fails the test.
package awstest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Moto is a running emulator.
type Moto struct {
	URL string
	cmd *exec.Cmd
	out *bytes.Buffer
}

var (
	shared     *Moto
	sharedErr  error
	sharedOnce sync.Once
)

// Start returns the package's emulator (started on first use and left
// running for the package's tests; Stop it from TestMain), reset to
// empty, and points the AWS SDK at it for the test.
func Start(t testing.TB) *Moto {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the AWS API emulator is required in CI: %v", sharedErr)
		}
		t.Skipf("no AWS API emulator: %v (install moto: pip install 'moto[server]')", sharedErr)
	}
	if err := shared.Reset(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", shared.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	return shared
}

// Stop ends the package's emulator, if one was started.
func Stop() {
	if shared != nil && shared.cmd != nil && shared.cmd.Process != nil {
		_ = shared.cmd.Process.Kill()
		_ = shared.cmd.Wait()
	}
}

func start() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port), out: &bytes.Buffer{}}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = m.cmd.Process.Kill()
	return nil, fmt.Errorf("moto_server did not answer within 30 s: %s", m.out.String())
}

// Reset empties the emulator.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Package emulator runs a real AWS API emulator, moto_server, on a free
// loopback port: for tests, and for the demo, which acts on it instead of
// an AWS account.
package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMissing: moto_server is not installed.
var ErrMissing = errors.New("moto_server is not on PATH (install moto: pip install 'moto[server]')")

// Moto is a running moto_server.
type Moto struct {
	URL    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
	mu     sync.Mutex
	logs   bytes.Buffer
}

// Start starts moto_server and waits until it answers.
func Start() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMissing
	}
	// The port is free when picked but not held: another process (a test
	// package running beside this one) may take it before moto binds it.
	// Then this moto exits, and the one answering is the other's: try
	// another port.
	var last error
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		m, err := start(bin, port)
		if err == nil {
			return m, nil
		}
		last = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, last
}

var errPortTaken = errors.New("moto_server: the port was taken")

func start(bin string, port int) (*Moto, error) {
	m := &Moto{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	m.cmd.Stdout, m.cmd.Stderr = &lockedWriter{m}, &lockedWriter{m}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	m.exited = make(chan struct{})
	exited := m.exited
	go func() { _ = m.cmd.Wait(); close(exited) }()
	// Ours answers when it says it runs on the port (werkzeug's line) and
	// the port answers.
	running := "Running on " + m.URL
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			if strings.Contains(m.log(), "in use") {
				return nil, fmt.Errorf("%w (%d)", errPortTaken, port)
			}
			return nil, fmt.Errorf("moto_server exited: %s", m.log())
		default:
		}
		if strings.Contains(m.log(), running) {
			resp, err := http.Get(m.URL + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				return m, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.Stop()
	return nil, fmt.Errorf("moto_server did not answer within 30 s: %s", m.log())
}

func (m *Moto) log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.String()
}

type lockedWriter struct{ m *Moto }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.m.logs.Len() < 1<<20 {
		w.m.logs.Write(p)
	}
	return len(p), nil
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

// Env is the environment that points the AWS SDK at the emulator with
// throwaway credentials.
func (m *Moto) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL": m.URL, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
}

// Stop ends the emulator.
func (m *Moto) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

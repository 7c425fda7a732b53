package notify

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/respond"
)

type got struct {
	mu      sync.Mutex
	headers []http.Header
	bodies  [][]byte
}

func server(t *testing.T) (*got, string) {
	g := &got{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.headers, g.bodies = append(g.headers, r.Header.Clone()), append(g.bodies, b)
		g.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return g, srv.URL
}

func reg() *respond.Registry {
	r := respond.NewRegistry()
	Register(r, nil)
	return r
}

func TestWebhookSignature(t *testing.T) {
	g, url := server(t)
	t.Setenv("HOOK_URL", url+"/in")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := reg().Get("notify.webhook")
	o, err := a.Execute(context.Background(), respond.Params{"url": "env:HOOK_URL", "secret": "file:" + filepath.Join(dir, "secret"), "message": "bucket reverted", "finding_id": "f1"})
	if err != nil {
		t.Fatal(err)
	}
	h, body := g.headers[0], g.bodies[0]
	// The receiver checks the signature as a receiver would.
	mac := hmac.New(sha256.New, []byte("s3cr3t"))
	mac.Write([]byte(h.Get("X-Parapet-Timestamp") + "."))
	mac.Write(body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(h.Get("X-Parapet-Signature")), []byte(want)) {
		t.Errorf("signature %q, want %q", h.Get("X-Parapet-Signature"), want)
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil || m["message"] != "bucket reverted" || m["finding_id"] != "f1" {
		t.Errorf("body %s", body)
	}
	for _, s := range []string{url, "s3cr3t"} {
		if b, _ := json.Marshal(o); strings.Contains(string(b), s) {
			t.Errorf("the outcome (which the audit trail keeps) holds a secret: %s", b)
		}
	}
}

func TestFormats(t *testing.T) {
	g, url := server(t)
	t.Setenv("SLACK", url+"/slack")
	t.Setenv("TEAMS", url+"/teams")
	t.Setenv("PD_KEY", "routing-123")
	r := reg()
	ctx := context.Background()
	if _, err := r.Get("notify.slack").Execute(ctx, respond.Params{"webhook": "env:SLACK", "text": "hello *world*"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("notify.teams").Execute(ctx, respond.Params{"webhook": "env:TEAMS", "title": "T", "text": "body"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("notify.pagerduty").Execute(ctx, respond.Params{"routing_key": "env:PD_KEY", "summary": "S", "severity": "high", "dedup_key": "f1", "endpoint": url + "/v2/enqueue"}); err != nil {
		t.Fatal(err)
	}
	var slack, teams, pd map[string]any
	_ = json.Unmarshal(g.bodies[0], &slack)
	_ = json.Unmarshal(g.bodies[1], &teams)
	_ = json.Unmarshal(g.bodies[2], &pd)
	if slack["text"] != "hello *world*" {
		t.Errorf("slack %s", g.bodies[0])
	}
	att, _ := teams["attachments"].([]any)
	if teams["type"] != "message" || len(att) != 1 || att[0].(map[string]any)["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("teams %s", g.bodies[1])
	}
	payload, _ := pd["payload"].(map[string]any)
	if pd["routing_key"] != "routing-123" || pd["event_action"] != "trigger" || pd["dedup_key"] != "f1" || payload["severity"] != "error" || payload["summary"] != "S" {
		t.Errorf("pagerduty %s", g.bodies[2])
	}
	// A refusal is an error that names the status, not the URL.
	t.Setenv("SLACK", url+"/fail")
	_, err := r.Get("notify.slack").Execute(ctx, respond.Params{"webhook": "env:SLACK", "text": "x"})
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), url) {
		t.Errorf("refusal: %v", err)
	}
	if _, err := r.Get("notify.slack").Execute(ctx, respond.Params{"webhook": "env:NOT_SET_ANYWHERE", "text": "x"}); err == nil {
		t.Error("an unset secret reference sent anyway")
	}
}

// TestEmail sends through a real SMTP server: Python's smtpd debugging
// server on loopback, which prints what it receives.
func TestEmail(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH: no SMTP server to send to")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(py, "-W", "ignore", "-u", "-m", "smtpd", "-n", "-c", "DebuggingServer", "127.0.0.1:"+strconv.Itoa(port))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Skipf("no SMTP server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			break
		}
		if i > 50 {
			t.Skip("python's smtpd did not start (Python 3.12 removed it)")
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, err = reg().Get("notify.email").Execute(context.Background(), respond.Params{"smtp": "127.0.0.1:" + strconv.Itoa(port), "from": "parapet@example.com",
		"to": "soc@example.com, oncall@example.com", "subject": "Public bucket\nreverted", "body": "acme-finance-reports was made public and reverted."})
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var seen strings.Builder
	deadline := time.After(5 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for !strings.Contains(seen.String(), "END MESSAGE") {
		select {
		case l := <-lines:
			seen.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("the SMTP server printed:\n%s", seen.String())
		}
	}
	if !strings.Contains(seen.String(), "Subject: Public bucket reverted") || !strings.Contains(seen.String(), "acme-finance-reports was made public") {
		t.Errorf("received:\n%s", seen.String())
	}
}

package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parapet-sec/parapet/internal/bus/natsjs"
	"github.com/parapet-sec/parapet/internal/pgtest"
	"github.com/parapet-sec/parapet/internal/pipeline"
)

// Scale-out: two serve workers share a real NATS JetStream server (embedded
// here) and a PostgreSQL store. Bodies posted to either worker's intake are
// split by account; each worker processes its own partitions; together
// they file exactly the findings one process files from the same bodies.
// A worker that is down leaves its partitions waiting on the bus, and
// picks them up when it is back.
func TestServeBus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts NATS and PostgreSQL")
	}
	tokFile := filepath.Join(t.TempDir(), "bus-token")
	if err := os.WriteFile(tokFile, []byte("test-bus-token-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns, err := natsjs.Embedded(natsjs.EmbeddedOptions{Dir: t.TempDir(), Auth: natsjs.Auth{Token: "test-bus-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	natsURL := ns.URL
	db := pgtest.URL(t)
	const partitions = 8
	// Accounts on both workers (partition mod 2).
	var accounts []string
	on := map[int]int{}
	for i := 0; len(accounts) < 6; i++ {
		a := fmt.Sprintf("1111222233%02d", i)
		w := pipeline.PartitionOf(a, partitions) % 2
		if on[w] < 3 {
			on[w]++
			accounts = append(accounts, a)
		}
	}
	pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
	body := func(round int) []byte {
		var recs []string
		for i, a := range accounts {
			for j := range 20 {
				id := fmt.Sprintf("ev-%d-%d-%d", round, i, j)
				var r string
				if j == 7 {
					r = ctRecord(id, "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": fmt.Sprintf("b-%d-%d", round, i), "bucketPolicy": pub}, nil)
				} else {
					r = ctRecord(id, "alice", "AKIAALICE", "ec2.amazonaws.com", "DescribeInstances", map[string]any{"n": j}, nil)
				}
				recs = append(recs, strings.ReplaceAll(r, "123456789012", a))
			}
		}
		return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	}
	flow := func(round int) []byte {
		var b strings.Builder
		b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
		for i, a := range accounts {
			fmt.Fprintf(&b, "2 %s eni-%d 10.0.0.%d 10.0.1.%d 443 %d 6 10 %d 1764000000 1764000060 ACCEPT OK\n", a, i, i+1, round+1, 40000+i, 1000+round)
		}
		return []byte(b.String())
	}
	lakeDir := filepath.Join(t.TempDir(), "lake") // shared by the workers
	cfg := func(worker int) string {
		p := filepath.Join(t.TempDir(), "parapet.yaml")
		y := fmt.Sprintf("db: %s\nrespond:\n  dry_run: true\nbus:\n  nats: %s\n  token: file:%s\n  partitions: %d\n  workers: 2\n  worker: %d\nlake:\n  path: %s\n  flush_every: 200ms\n", db, natsURL, tokFile, partitions, worker, lakeDir)
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, errOut, code := run(t, "", "tokens", "create", "--role", "analyst", "--db", db)
	if code != ExitOK {
		t.Fatalf("tokens: %s", errOut)
	}
	tok := strings.TrimSpace(out)
	cfgA, cfgB := cfg(0), cfg(1)
	urlA, _ := startServe(t, "--data", t.TempDir(), "--config", cfgA)
	dataB := t.TempDir()
	urlB, stopB := startServe(t, "--data", dataB, "--config", cfgB)

	// Worker B's live updates, to see worker A's incidents in them.
	var streamMu sync.Mutex
	var streamB strings.Builder
	req, _ := http.NewRequest("GET", urlB+"/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	defer resp.Body.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			streamMu.Lock()
			streamB.Write(buf[:n])
			streamMu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	post := func(url, route string, b []byte) {
		t.Helper()
		if code, v := call(t, "POST", url+route, tok, "application/json", b); code != 202 {
			t.Fatalf("ingest %s: %d %v", route, code, v)
		}
	}
	post(urlA, "/v1/ingest/cloudtrail", body(0))
	post(urlB, "/v1/ingest/cloudtrail", body(1))
	post(urlA, "/v1/ingest/vpcflow", flow(0))
	events := regexp.MustCompile(`(?m)^parapet_events_total (\S+)$`)
	count := func(url string) int {
		_, m := call(t, "GET", url+"/metrics", "", "", nil)
		if x := events.FindStringSubmatch(m["raw"].(string)); x != nil {
			n, _ := strconv.ParseFloat(x[1], 64)
			return int(n)
		}
		return 0
	}
	want := 2*len(accounts)*20 + len(accounts)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
		}
	}
	waitFor("both workers to process every event", func() bool { return count(urlA)+count(urlB) == want })
	a, b := count(urlA), count(urlB)
	if a == 0 || b == 0 {
		t.Errorf("one worker did everything: %d and %d events", a, b)
	}
	// Each worker keeps its partitions' events in the shared lake: every
	// event once.
	waitFor("every event in the lake", func() bool {
		n := 0
		for _, c := range lakeEventIDs(t, lakeDir) {
			n += c
		}
		return n >= want
	})
	for id, n := range lakeEventIDs(t, lakeDir) {
		if n != 1 {
			t.Errorf("event %s is in the lake %d times", id, n)
		}
	}
	findings := func() []string {
		_, v := call(t, "GET", urlA+"/v1/findings?limit=1000", tok, "", nil)
		var ids []string
		for _, f := range v["items"].([]any) {
			ids = append(ids, f.(map[string]any)["id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	waitFor("the findings", func() bool { return len(findings()) >= 2*len(accounts) })
	waitFor("worker A's incidents in worker B's live updates", func() bool {
		streamMu.Lock()
		defer streamMu.Unlock()
		for _, acct := range accounts {
			if pipeline.PartitionOf(acct, partitions)%2 == 0 && strings.Contains(streamB.String(), acct) {
				return true
			}
		}
		return false
	})

	// The same bodies through one process without the bus.
	ref := t.TempDir()
	rtok := token(t, ref, "analyst")
	rcfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(rcfg, []byte("respond:\n  dry_run: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	urlR, _ := startServe(t, "--data", ref, "--config", rcfg)
	for _, c := range []struct {
		route string
		b     []byte
	}{{"/v1/ingest/cloudtrail", body(0)}, {"/v1/ingest/cloudtrail", body(1)}, {"/v1/ingest/vpcflow", flow(0)}} {
		if code, v := call(t, "POST", urlR+c.route, rtok, "application/json", c.b); code != 202 {
			t.Fatalf("reference ingest: %d %v", code, v)
		}
	}
	waitFor("the reference process", func() bool { return count(urlR) == want })
	var refIDs []string
	waitFor("the reference findings", func() bool {
		_, v := call(t, "GET", urlR+"/v1/findings?limit=1000", rtok, "", nil)
		refIDs = refIDs[:0]
		for _, f := range v["items"].([]any) {
			refIDs = append(refIDs, f.(map[string]any)["id"].(string))
		}
		return len(refIDs) >= 2*len(accounts)
	})
	slices.Sort(refIDs)
	if got := findings(); !slices.Equal(got, refIDs) {
		t.Errorf("the workers filed %d findings, one process %d:\n%v\n%v", len(got), len(refIDs), got, refIDs)
	}

	// Both workers' playbooks (dry-run) extend one intact audit chain.
	waitFor("both workers' playbook runs in one audit chain", func() bool {
		_, v := call(t, "GET", urlA+"/v1/audit?limit=1000", tok, "", nil)
		chain, _ := v["chain"].(map[string]any)
		return chain["intact"] == true && strings.Count(mustJSON(v["items"]), `"playbook.matched"`) == 2*len(accounts)
	})

	// Worker B stops; what arrives for its accounts waits on the bus and
	// is processed, once, when it is back.
	stopB()
	before := len(findings())
	post(urlA, "/v1/ingest/cloudtrail", body(2))
	waitFor("worker A's share of round 2", func() bool { return count(urlA) > a })
	time.Sleep(300 * time.Millisecond)
	if n := len(findings()); n != before+on[0] {
		t.Errorf("with B down: %d findings, want %d (A's accounts only)", n, before+on[0])
	}
	urlB, _ = startServe(t, "--data", dataB, "--config", cfgB)
	waitFor("worker B's backlog", func() bool { return len(findings()) == before+len(accounts) })
	time.Sleep(300 * time.Millisecond)
	if n := len(findings()); n != before+len(accounts) {
		t.Errorf("after B is back: %d findings, want %d", n, before+len(accounts))
	}
	_ = urlB
}

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The bus is not a way in: with bus.embedded listening, a NATS client
// without credentials can neither connect nor publish a forged record to
// parapet.intake.*; the workers' credentials (generated when none are
// configured, or bus.token) work; a non-loopback listener without
// configured credentials is refused.
func TestServeBusNeedsCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve with an embedded NATS server")
	}
	forged := func(id string) []byte {
		pub := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}}
		return []byte(`{"Records":[` + ctRecord(id, "mallory", "AKIAMALLORY", "s3.amazonaws.com", "PutBucketPolicy", map[string]any{"bucketName": "b-" + id, "bucketPolicy": pub}, nil) + `]}`)
	}
	events := regexp.MustCompile(`(?m)^parapet_events_total (\S+)$`)
	count := func(url string) int {
		_, m := call(t, "GET", url+"/metrics", "", "", nil)
		if x := events.FindStringSubmatch(m["raw"].(string)); x != nil {
			n, _ := strconv.ParseFloat(x[1], 64)
			return int(n)
		}
		return 0
	}
	// publish tries to put a body on the intake stream the way an attacker
	// on the network would: a plain NATS client.
	publish := func(url string, body []byte, opts ...nats.Option) error {
		nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...)
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = js.Publish(ctx, "parapet.intake.cloudtrail", body)
		return err
	}
	waitEvents := func(url string, n int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); count(url) < n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %d events at %s: %d", n, url, count(url))
			}
		}
	}

	// No credentials configured, loopback (the default): serve makes a
	// token of its own and keeps it in DATA/nats/token for local workers.
	data := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("respond:\n  dry_run: true\nbus:\n  embedded: 127.0.0.1:%d\n", port)), 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--data", data, "--config", cfg)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	if err := publish(natsURL, forged("anon-1")); err == nil {
		waitEvents(url, 1)
		t.Fatalf("a client without credentials published a forged record to the intake stream and it was processed")
	}
	tok, err := os.ReadFile(filepath.Join(data, "nats", "token"))
	if err != nil {
		t.Fatalf("the generated bus token: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(data, "nats", "token")); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("the token file is readable by others: %v", fi.Mode())
	}
	if err := publish(natsURL, forged("worker-1"), nats.Token(strings.TrimSpace(string(tok)))); err != nil {
		t.Fatalf("with the generated token: %v", err)
	}
	waitEvents(url, 1)

	// A non-loopback listener needs configured credentials ...
	open := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(open, []byte("bus:\n  embedded: 0.0.0.0:4222\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "", "config", "validate", open); code == ExitOK || !strings.Contains(errOut, "bus.embedded") {
		t.Errorf("a bus listening on every interface without credentials validates (exit %d): %s", code, errOut)
	}
	// ... and with them it starts, refuses anonymous clients and
	// accepts the token; the token is never printed.
	secret := "bus-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	tokFile := filepath.Join(t.TempDir(), "bus-token")
	if err := os.WriteFile(tokFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port = freePort(t)
	if err := os.WriteFile(open, []byte(fmt.Sprintf("respond:\n  dry_run: true\nbus:\n  embedded: 0.0.0.0:%d\n  token: file:%s\n", port, tokFile)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "", "config", "validate", open); code != ExitOK || strings.Contains(errOut, secret) {
		t.Fatalf("with a token: exit %d: %s", code, errOut)
	}
	url, _ = startServe(t, "--data", t.TempDir(), "--config", open)
	natsURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	if err := publish(natsURL, forged("anon-2")); err == nil {
		t.Fatal("a client without credentials published to a bus with a configured token")
	}
	if err := publish(natsURL, forged("anon-3"), nats.Token("wrong")); err == nil {
		t.Fatal("a client with a wrong token published")
	}
	if err := publish(natsURL, forged("worker-2"), nats.Token(secret)); err != nil {
		t.Fatalf("with the configured token: %v", err)
	}
	waitEvents(url, 1)
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/store"
)

// parapet tokens create --role ingest | list | revoke: the list shows no
// secret and no hash; a revoked token stops working on a running serve.
func TestTokensListRevoke(t *testing.T) {
	data := t.TempDir()
	ingest, viewer := token(t, data, "ingest"), token(t, data, "viewer")
	cfg := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(cfg, []byte("respond:\n  dry_run: true\nauth:\n  token_cache: 1ns\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url, _ := startServe(t, "--data", data, "--config", cfg)
	if code, v := call(t, "GET", url+"/v1/incidents", viewer, "", nil); code != 200 {
		t.Fatalf("before: %d %v", code, v)
	}

	out, errOut, code := run(t, "", "tokens", "list", "--data", data)
	if code != ExitOK {
		t.Fatalf("tokens list: exit %d: %s", code, errOut)
	}
	db, err := store.Open(context.Background(), filepath.Join(data, "parapet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT id, hash FROM tokens`)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for rows.Next() {
		var id, hash string
		if err := rows.Scan(&id, &hash); err != nil {
			t.Fatal(err)
		}
		ids[id] = hash
	}
	rows.Close()
	for id, hash := range ids {
		if !strings.Contains(out, id) || strings.Contains(out, hash) || strings.Contains(out, hash[12:]) {
			t.Errorf("tokens list shows the hash of %s, or not its id:\n%s", id, out)
		}
	}
	for _, secret := range []string{ingest, viewer} {
		if strings.Contains(out+errOut, strings.TrimPrefix(secret, "ppt_")) {
			t.Errorf("tokens list shows a secret:\n%s", out)
		}
	}
	if !regexp.MustCompile(`(?m)test-ingest\s+ingest\s`).MatchString(out) || !strings.Contains(out, "LAST USED") {
		t.Errorf("tokens list:\n%s", out)
	}

	var vid string
	out, _, _ = run(t, "", "tokens", "list", "--data", data, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("tokens list --json: %v\n%s", err, out)
	}
	for _, x := range list {
		if x["name"] == "test-viewer" {
			vid, _ = x["id"].(string)
		}
		if x["hash"] != nil || x["secret"] != nil {
			t.Errorf("tokens list --json: %v", x)
		}
	}
	if _, errOut, code := run(t, "", "tokens", "revoke", vid, "--data", data); code != ExitOK || !strings.Contains(errOut, vid) {
		t.Fatalf("tokens revoke: exit %d: %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "tokens", "revoke", vid, "--data", data); code == ExitOK || !strings.Contains(errOut, "no live token") {
		t.Errorf("revoking twice: exit %d: %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "tokens", "revoke", "--data", data); code != ExitUsage {
		t.Errorf("revoke without an id: exit %d: %s", code, errOut)
	}
	out, _, _ = run(t, "", "tokens", "list", "--data", data)
	if !regexp.MustCompile(`(?m)^` + vid + `\s+test-viewer\s+viewer\s+\S+\s+\S+\s+20\d\d-`).MatchString(out) {
		t.Errorf("the revocation is not listed:\n%s", out)
	}
	if code, v := call(t, "GET", url+"/v1/incidents", viewer, "", nil); code != 401 {
		t.Errorf("a token revoked by the CLI on the running serve: %d %v", code, v)
	}
	if code, _ := call(t, "POST", url+"/v1/ingest/cloudtrail", ingest, "application/json", []byte(`{"Records":[]}`)); code != 202 {
		t.Errorf("the ingest token: %d", code)
	}
}

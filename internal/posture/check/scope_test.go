package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/org"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func scopeResults() []Result {
	s3 := &Check{ID: "PARAPET-S3-001", Frameworks: map[string][]string{"cis-aws": {"2.1.1"}}}
	iam := &Check{ID: "PARAPET-IAM-001"}
	bucket := func(account, ou string) *resource.Resource {
		r := &resource.Resource{Type: resource.S3Bucket, Name: "b-" + account, ARN: "arn:aws:s3:::b-" + account, Account: account, Attrs: map[string]any{}}
		if ou != "" {
			r.Attrs[org.AttrOU] = ou
		}
		return r
	}
	var out []Result
	for _, r := range []*resource.Resource{bucket("111111111111", "Root/Sandbox"), bucket("222222222222", "Root/Production"), bucket("333333333333", ""), bucket("", "")} {
		out = append(out, Result{Check: s3, CheckID: s3.ID, Status: Fail, Resource: r}, Result{Check: iam, CheckID: iam.ID, Status: Fail, Resource: r})
	}
	return out
}

func kept(rs []Result) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.CheckID[8:]+"@"+r.Resource.Account)
	}
	return strings.Join(s, " ")
}

func TestSelectByScope(t *testing.T) {
	inv := org.Static([]org.Account{{ID: "333333333333", OU: "Root/Sandbox/Labs", Tags: map[string]string{"env": "lab"}}})
	for _, tc := range []struct {
		name string
		sels []Selection
		r    org.Resolver
		want string
	}{
		{"none", nil, nil, "S3-001@111111111111 IAM-001@111111111111 S3-001@222222222222 IAM-001@222222222222 S3-001@333333333333 IAM-001@333333333333 S3-001@ IAM-001@"},
		{"disable a glob in the sandbox OU (from the scan's OU)", []Selection{{Scope: org.Scope{OUs: []string{"Sandbox"}}, Disable: []string{"PARAPET-S3-00*"}}}, nil,
			"S3-001@111111111111 IAM-001@111111111111 S3-001@222222222222 IAM-001@222222222222 S3-001@333333333333 IAM-001@333333333333 S3-001@ IAM-001@"[len("S3-001@111111111111 "):]},
		{"and through the inventory", []Selection{{Scope: org.Scope{OUs: []string{"Sandbox"}}, Disable: []string{"PARAPET-S3-00*"}}}, inv,
			"IAM-001@111111111111 S3-001@222222222222 IAM-001@222222222222 IAM-001@333333333333 S3-001@ IAM-001@"},
		{"a framework", []Selection{{Scope: org.Scope{Accounts: []string{"222222222222"}}, Disable: []string{"cis-aws"}}}, nil,
			"S3-001@111111111111 IAM-001@111111111111 IAM-001@222222222222 S3-001@333333333333 IAM-001@333333333333 S3-001@ IAM-001@"},
		{"only, by tag", []Selection{{Scope: org.Scope{Tags: []string{"env=lab"}}, Only: []string{"PARAPET-IAM-*"}}}, inv,
			"S3-001@111111111111 IAM-001@111111111111 S3-001@222222222222 IAM-001@222222222222 IAM-001@333333333333 S3-001@ IAM-001@"},
		{"everywhere", []Selection{{Disable: []string{"PARAPET-IAM-001"}}}, nil,
			"S3-001@111111111111 S3-001@222222222222 S3-001@333333333333 S3-001@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kept(Select(scopeResults(), tc.sels, tc.r)); got != tc.want {
				t.Errorf("Select = %q\nwant %q", got, tc.want)
			}
		})
	}
	if err := (Selection{Scope: org.Scope{OUs: []string{"Sandbox"}}}).Validate(); err == nil {
		t.Error("Validate of a selection with neither disable nor only: no error")
	}
}

func TestScopedSuppressionFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(p, []byte(`suppressions:
  - check: PARAPET-S3-*
    resource: "*"
    reason: sandboxes share public test buckets
    scope: {ous: [Sandbox]}
`), 0o644)
	sups, errs := LoadSuppressions(p)
	if len(errs) > 0 || len(sups) != 1 {
		t.Fatalf("LoadSuppressions = %v, %v", sups, errs)
	}
	rs := scopeResults()
	ApplySuppressions(rs, sups, time.Now())
	var got []string
	for _, r := range rs {
		if r.Status == Suppressed {
			got = append(got, r.CheckID+"@"+r.Resource.Account)
		}
	}
	if strings.Join(got, " ") != "PARAPET-S3-001@111111111111" {
		t.Errorf("suppressed %v, want only the S3 check in the sandbox account", got)
	}
	for _, bad := range []string{"scope: {ou: [Sandbox]}", "scope: {accounts: ['12']}"} {
		os.WriteFile(p, []byte("suppressions:\n  - check: PARAPET-S3-*\n    resource: \"*\"\n    reason: r\n    "+bad+"\n"), 0o644)
		if sups, errs := LoadSuppressions(p); len(sups) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), p+":2") {
			t.Errorf("LoadSuppressions with %s = %v, %v; want one error at line 2", bad, sups, errs)
		}
	}
}

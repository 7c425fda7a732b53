package respond

import (
	"context"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/org"
)

const scopedFix = `name: scoped-fix
trigger: finding.rule_id == "r1"
mode: approve
scope:
  ous: [Workloads]
  accounts: ["999999999999"]
  exclude: {tags: [frozen=true]}
approval:
  auto_in: {ous: [Sandbox]}
  required_in: {tags: [tier=critical]}
steps:
  - action: fake.fix
    params: {target: "${finding.resource}"}
  - action: fake.notify
    params: {url: "env:PARAPET_TEST_UNSET_URL", text: "fixed"}
    on_error: continue
`

func inAccount(id, account, target string) *Finding {
	f := finding(id, "r1")
	f.Doc["resource"] = target
	if account != "" {
		f.Doc["cloud"] = map[string]any{"provider": "aws", "account": account, "region": "us-east-1"}
	}
	return f
}

func TestScopedPlaybook(t *testing.T) {
	ctx := context.Background()
	f := &fakeAWS{}
	e := newEngine(t, f, scopedFix)
	e.Accounts = org.Static([]org.Account{
		{ID: "111111111111", Name: "sandbox-1", OU: "Root/Workloads/Sandbox"},
		{ID: "111111111112", Name: "sandbox-crit", OU: "Root/Workloads/Sandbox", Tags: map[string]string{"tier": "critical"}},
		{ID: "222222222222", Name: "prod-1", OU: "Root/Workloads/Production"},
		{ID: "222222222223", Name: "prod-frozen", OU: "Root/Workloads/Production", Tags: map[string]string{"frozen": "true"}},
		{ID: "333333333333", Name: "security", OU: "Root/Security"},
		{ID: "444444444444", Name: "other", OU: "Root/Other"},
	})
	e.ProtectAccounts = org.Scope{OUs: []string{"Security"}, Accounts: []string{"555555555555"}}
	for _, tc := range []struct {
		name, account, status, calls, reason string
	}{
		{"sandbox: automatic", "111111111111", "executed", "fake.fix t-111111111111", ""},
		{"sandbox, critical tag: required_in wins", "111111111112", "pending-approval", "", ""},
		{"production: waits", "222222222222", "pending-approval", "", ""},
		{"excluded by tag: not triggered", "222222222223", "", "", ""},
		{"outside the scope: not triggered", "444444444444", "", "", ""},
		{"no account: not triggered", "", "", "", ""},
		{"unknown account: not triggered", "888888888888", "", "", ""},
		{"unknown account named by id: waits", "999999999999", "pending-approval", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.calls = nil
			rs, err := e.Handle(ctx, inAccount("f-"+tc.name, tc.account, "t-"+tc.account))
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == "" {
				if len(rs) != 0 {
					t.Errorf("Handle = %+v, want no run", rs)
				}
				return
			}
			if len(rs) != 1 || rs[0].Status != tc.status {
				t.Fatalf("Handle = %+v, want one run %s", rs, tc.status)
			}
			if got := strings.Join(f.calls, ","); got != tc.calls {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
		})
	}

	// A retro finding (made over history) in the sandbox still waits:
	// auto_in does not lift the retro rule.
	f.calls = nil
	retro := inAccount("f-retro", "111111111111", "t-retro")
	retro.Doc["retro"] = true
	required := true
	e.Playbooks[0].Approval.Required = &required
	if rs, err := e.Handle(ctx, retro); err != nil || len(rs) != 1 || rs[0].Status != "pending-approval" || len(f.calls) != 0 {
		t.Errorf("retro finding in the sandbox: %+v, %v, calls %v; want it pending approval", rs, err, f.calls)
	}

	// A protected account: in the playbook's scope by id, refused without
	// asking for approval, in the run and the audit trail.
	e.Playbooks[0].Scope.Accounts = append(e.Playbooks[0].Scope.Accounts, "333333333333")
	f.calls = nil
	rs, err := e.Handle(ctx, inAccount("f-sec", "333333333333", "t-sec"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(f.calls) != 0 || len(rs[0].Steps) == 0 || rs[0].Steps[0].Status != "skipped" ||
		!strings.Contains(rs[0].Steps[0].Reason, "protected account 333333333333 (security, Root/Security)") {
		t.Fatalf("protected account: calls %v, %+v", f.calls, rs)
	}
	var n int
	if err := e.DB.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE body LIKE '%f-sec%' AND body LIKE '%protected account 333333333333%'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("audit records naming the protected account: %d, %v; want 1", n, err)
	}
}

func TestPlaybookScopeSchema(t *testing.T) {
	reg := (&fakeAWS{}).registry()
	for _, tc := range []struct{ name, src, want string }{
		{"bad account id", "scope: {accounts: ['12']}", "scope"},
		{"unknown scope key", "scope: {ou: [Sandbox]}", "scope"},
		{"bad auto_in", "approval: {auto_in: {tags: ['=x']}}", "auto_in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("name: p\ntrigger: \"true\"\n"+tc.src+"\nsteps:\n  - action: fake.fix\n    params: {target: a}\n"), "p.yml", reg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

func TestOrganization(t *testing.T) {
	c, err := Parse([]byte(`organization:
  role: ParapetScanner
  external_id: ext-7
  include:
    ous: [Root/Workloads/Sandbox, Production]
    tags: ["env=prod"]
  exclude:
    accounts: ["111122223333"]
  accounts:
    - {id: "444455556666", name: sec, ou: Root/Security}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Organization
	if !o.Enabled() || o.Refresh.D() != time.Hour || o.Concurrency != 4 || len(o.Include.OUs) != 2 || o.Accounts[0].OU != "Root/Security" {
		t.Errorf("organization = %+v", o)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"organization:\n  accounts: [{id: \"444455556666\"}]\n", "organization.role"},
		{"organization:\n  role: R\n  exclude: {accounts: [\"12\"]}\n", "organization.exclude.accounts"},
		{"organization:\n  role: arn:aws:iam::1:role/R\n", "{account}"},
		{"organization:\n  role: R\n  include: {tags: [\"=x\"]}\n", "organization.include.tags"},
		{"organization:\n  role: R\n  inclde: {}\n", "include"},
	} {
		if _, err := Parse([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", tc.yaml, err, tc.want)
		}
	}
}

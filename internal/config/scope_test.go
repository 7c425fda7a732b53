package config

import (
	"strings"
	"testing"
)

func TestScopeKeys(t *testing.T) {
	c, err := Parse([]byte(`respond:
  protect_accounts: {ous: [Security], accounts: ["333333333333"]}
posture:
  check_scopes:
    - scope: {ous: [Sandbox], exclude: {tags: [owner=sec]}}
      disable: [PARAPET-S3-00*]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Respond.ProtectAccounts.OUs; len(got) != 1 || got[0] != "Security" {
		t.Errorf("protect_accounts.ous = %v", got)
	}
	if cs := c.Posture.CheckScopes; len(cs) != 1 || cs[0].Scope.OUs[0] != "Sandbox" || cs[0].Scope.Exclude.Tags[0] != "owner=sec" || cs[0].Disable[0] != "PARAPET-S3-00*" {
		t.Errorf("check_scopes = %+v", cs)
	}
	_, err = Parse([]byte(`respond:
  protect_accounts: {accounts: ["12"]}
posture:
  check_scopes:
    - scope: {ou: [Sandbox]}
      disable: [X]
    - scope: {ous: [Sandbox]}
`))
	want := []string{
		`line 2: respond.protect_accounts.accounts: "12" is not a 12-digit account id`,
		`line 5: posture.check_scopes.0.scope.ou: unknown key; did you mean ous?`,
		`line 7: posture.check_scopes.1: want disable or only`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Parse = %v\nwant %q", err, w)
		}
	}
}

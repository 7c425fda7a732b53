package org

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestScopeMatches(t *testing.T) {
	inv := Static([]Account{
		{ID: "111111111111", Name: "sandbox-a", OU: "Root/Workloads/Sandbox", Tags: map[string]string{"env": "sandbox"}},
		{ID: "222222222222", Name: "prod-a", OU: "Root/Workloads/Production", Tags: map[string]string{"env": "prod", "tier": "critical"}},
		{ID: "333333333333", Name: "security", OU: "Root/Security"},
	})
	const unknown = "999999999999"
	for _, tc := range []struct {
		name  string
		scope Scope
		id    string
		r     Resolver
		want  bool
	}{
		{"zero scope: every account", Scope{}, "222222222222", inv, true},
		{"zero scope: no account", Scope{}, "", inv, true},
		{"ou name", Scope{OUs: []string{"Sandbox"}}, "111111111111", inv, true},
		{"ou name, other ou", Scope{OUs: []string{"Sandbox"}}, "222222222222", inv, false},
		{"ou path covers sub-OUs", Scope{OUs: []string{"Root/Workloads"}}, "222222222222", inv, true},
		{"ou path, sibling", Scope{OUs: []string{"Root/Workloads"}}, "333333333333", inv, false},
		{"tag", Scope{Tags: []string{"env=prod"}}, "222222222222", inv, true},
		{"tag any value", Scope{Tags: []string{"tier=*"}}, "222222222222", inv, true},
		{"tag, other value", Scope{Tags: []string{"env=prod"}}, "111111111111", inv, false},
		{"lists are alternatives", Scope{Accounts: []string{"333333333333"}, OUs: []string{"Sandbox"}}, "333333333333", inv, true},
		{"lists are alternatives (ou)", Scope{Accounts: []string{"333333333333"}, OUs: []string{"Sandbox"}}, "111111111111", inv, true},
		{"exclude account", Scope{Exclude: ScopeExclude{Accounts: []string{"333333333333"}}}, "333333333333", inv, false},
		{"exclude account, other", Scope{Exclude: ScopeExclude{Accounts: []string{"333333333333"}}}, "111111111111", inv, true},
		{"exclude tag wins over ou", Scope{OUs: []string{"Workloads"}, Exclude: ScopeExclude{Tags: []string{"tier=critical"}}}, "222222222222", inv, false},
		{"exclude ou", Scope{Exclude: ScopeExclude{OUs: []string{"Production"}}}, "111111111111", inv, true},
		// Unknown accounts: only named by id, or a scope with no OU/tag condition.
		{"unknown, ou scope", Scope{OUs: []string{"Sandbox"}}, unknown, inv, false},
		{"unknown, named by id", Scope{Accounts: []string{unknown}, OUs: []string{"Sandbox"}}, unknown, inv, true},
		{"unknown, other ids", Scope{Accounts: []string{"111111111111"}}, unknown, inv, false},
		{"unknown, exclude ou only", Scope{Exclude: ScopeExclude{OUs: []string{"Production"}}}, unknown, inv, false},
		{"unknown, exclude other id only", Scope{Exclude: ScopeExclude{Accounts: []string{"333333333333"}}}, unknown, inv, true},
		{"unknown, excluded by id", Scope{Exclude: ScopeExclude{Accounts: []string{unknown}}}, unknown, inv, false},
		{"no resolver: named by id", Scope{Accounts: []string{"111111111111"}}, "111111111111", nil, true},
		{"no resolver: ou", Scope{OUs: []string{"Sandbox"}}, "111111111111", nil, false},
		{"no account, ou scope", Scope{OUs: []string{"Sandbox"}}, "", inv, false},
		{"no account, account scope", Scope{Accounts: []string{"111111111111"}}, "", inv, false},
		{"no account, exclude id only", Scope{Exclude: ScopeExclude{Accounts: []string{"333333333333"}}}, "", inv, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scope.Matches(tc.id, tc.r); got != tc.want {
				t.Errorf("%v.Matches(%q) = %v, want %v", tc.scope, tc.id, got, tc.want)
			}
		})
	}
}

func TestScopeCoversAndString(t *testing.T) {
	accts := []Account{{ID: "111111111111", OU: "Root/Sandbox"}, {ID: "222222222222", OU: "Root/Sandbox", Tags: map[string]string{"owner": "sec"}}, {ID: "333333333333", OU: "Root/Production"}}
	s := Scope{OUs: []string{"Sandbox"}, Exclude: ScopeExclude{Tags: []string{"owner=sec"}}}
	got := s.Covers(accts)
	if len(got) != 1 || got[0].ID != "111111111111" {
		t.Errorf("Covers = %v, want only 111111111111", got)
	}
	for _, tc := range []struct {
		s    Scope
		want string
	}{
		{Scope{}, "all accounts"},
		{s, "ous=Sandbox exclude(tags=owner=sec)"},
		{Scope{Exclude: ScopeExclude{Accounts: []string{"333333333333"}}}, "all accounts exclude(accounts=333333333333)"},
		{Scope{Accounts: []string{"1", "2"}, Tags: []string{"env=dev"}}, "accounts=1,2 tags=env=dev"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	errs := Scope{Accounts: []string{"12"}, Exclude: ScopeExclude{Tags: []string{"=x"}}}.Validate()
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), `"12"`) || !strings.HasPrefix(errs[1].Error(), "exclude.tags") {
		t.Errorf("Validate = %v, want the bad id and the exclude tag", errs)
	}
}

func TestScopeYAML(t *testing.T) {
	var s Scope
	if err := yaml.Unmarshal([]byte("ous: [Sandbox]\nexclude: {tags: [tier=critical]}\n"), &s); err != nil || s.String() != "ous=Sandbox exclude(tags=tier=critical)" {
		t.Errorf("Unmarshal = %v, %v", s, err)
	}
	for _, bad := range []string{"ou: [Sandbox]\n", "exclude: {account: ['111111111111']}\n", "[Sandbox]\n"} {
		var s Scope
		if err := yaml.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("Unmarshal(%q) = %v, want an error", bad, s)
		}
	}
}

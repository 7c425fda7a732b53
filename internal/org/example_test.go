package org_test

import (
	"fmt"

	"github.com/parapet-sec/parapet/internal/org"
)

func ExampleSelect() {
	accounts := []org.Account{
		{ID: "111111111111", Name: "sandbox-a", OU: "Root/Workloads/Sandbox", Status: "ACTIVE"},
		{ID: "222222222222", Name: "prod-a", OU: "Root/Workloads/Production", Status: "ACTIVE", Tags: map[string]string{"tier": "critical"}},
		{ID: "333333333333", Name: "security", OU: "Root/Security", Status: "ACTIVE"},
		{ID: "444444444444", Name: "old", OU: "Root/Workloads/Sandbox", Status: "SUSPENDED"},
	}
	for _, a := range org.Select(accounts, org.Filter{OUs: []string{"Root/Workloads"}}, org.Filter{Tags: map[string]string{"tier": "critical"}}) {
		fmt.Println(a.ID, a.OU)
	}
	fmt.Println((&org.Assumer{Role: "ParapetScanner"}).RoleARN("111111111111"))
	fmt.Println(org.SessionName("parapet", "public bucket/sandbox", "f-1"))
	// Output:
	// 111111111111 Root/Workloads/Sandbox
	// arn:aws:iam::111111111111:role/ParapetScanner
	// parapet-public_bucket_sandbox-f-1
}

func ExampleScope_Matches() {
	inventory := org.Static([]org.Account{
		{ID: "111111111111", Name: "sandbox-a", OU: "Root/Workloads/Sandbox"},
		{ID: "222222222222", Name: "prod-a", OU: "Root/Workloads/Production"},
		{ID: "333333333333", Name: "security", OU: "Root/Security"},
	})
	auto := org.Scope{OUs: []string{"Sandbox"}}
	protect := org.Scope{OUs: []string{"Security"}}
	for _, id := range []string{"111111111111", "222222222222", "333333333333", "999999999999"} {
		fmt.Println(id, "auto:", auto.Matches(id, inventory), "protected:", protect.Matches(id, inventory))
	}
	fmt.Println(org.Scope{OUs: []string{"Sandbox"}, Exclude: org.ScopeExclude{Accounts: []string{"111111111111"}}})
	// Output:
	// 111111111111 auto: true protected: false
	// 222222222222 auto: false protected: false
	// 333333333333 auto: false protected: true
	// 999999999999 auto: false protected: false
	// ous=Sandbox exclude(accounts=111111111111)
}

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

package attackpath

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Every file of content/paths parses, has every field, and the families
// the issue names are covered.
func TestBuiltinMethods(t *testing.T) {
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatalf("BuiltinMethods: %v", err)
	}
	if len(ms) < 40 {
		t.Errorf("%d methods, want at least 40", len(ms))
	}
	actions := map[string]bool{}
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m.ID, err)
		}
		for _, p := range m.Permissions {
			actions[p.Action] = true
		}
	}
	for _, a := range []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachUserPolicy", "iam:AttachGroupPolicy",
		"iam:AttachRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:AddUserToGroup", "iam:CreateAccessKey",
		"iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy", "sts:AssumeRole", "ec2:RunInstances",
		"lambda:CreateFunction", "lambda:InvokeFunction", "lambda:CreateEventSourceMapping", "lambda:UpdateFunctionCode",
		"lambda:UpdateFunctionConfiguration", "glue:CreateDevEndpoint", "glue:UpdateDevEndpoint", "cloudformation:CreateStack",
		"cloudformation:UpdateStack", "datapipeline:CreatePipeline", "codebuild:CreateProject", "codebuild:StartBuild",
		"codebuild:UpdateProject", "sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl",
		"ecs:RunTask", "ecs:RegisterTaskDefinition", "ssm:SendCommand", "ssm:StartSession", "ec2-instance-connect:SendSSHPublicKey",
		"ec2:ModifyInstanceAttribute", "iam:UpdateRole", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
		"iam:DeleteUserPermissionsBoundary", "sts:GetFederationToken", "autoscaling:CreateLaunchConfiguration"} {
		if !actions[a] {
			t.Errorf("no method uses %s", a)
		}
	}
}

func TestLoadMethodsRejects(t *testing.T) {
	good := `id: x
title: "t"
family: policy
description: d
target: self
permissions:
  - {action: iam:PutUserPolicy, resource: target}
preconditions: ["p"]
gains: admin
verb: "can x"
evaluated: true
references: [https://example.org/x]
scenario: {given: g, expect: e}
`
	tests := []struct {
		name, doc, want string
	}{
		{"valid", good, ""},
		{"no references", strings.Replace(good, "references: [https://example.org/x]\n", "", 1), "no references"},
		{"bad resource", strings.Replace(good, "resource: target", "resource: role", 1), "neither target nor *"},
		{"unknown field", good + "extra: 1\n", "field extra not found"},
		{"target not in graph", strings.Replace(good, "target: self", "target: stack", 1), "not in the graph yet"},
		{"no scenario", strings.Replace(good, "scenario: {given: g, expect: e}\n", "", 1), "scenario"},
		{"action without service", strings.Replace(good, "iam:PutUserPolicy", "PutUserPolicy", 1), "service:Operation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadMethods(fstest.MapFS{"p/x.yaml": {Data: []byte(tc.doc)}}, "p")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("LoadMethods = %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("LoadMethods = %v, want %q", err, tc.want)
			}
		})
	}
}

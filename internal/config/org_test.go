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

// An S3→SQS source reads a central log-archive account through a role:
// its ARN, or the organization's role in an account.
func TestS3SQSRole(t *testing.T) {
	const q = "sources:\n  s3sqs:\n    - queue_url: https://sqs.us-east-1.amazonaws.com/222233334444/logs\n"
	for _, tc := range []struct {
		name, yaml  string
		role, extID string
		err         string // "": valid
	}{
		{"own credentials", q, "", "", ""},
		{"role arn", q + "      role_arn: arn:aws:iam::222233334444:role/LogReader\n      external_id: ext-1\n", "arn:aws:iam::222233334444:role/LogReader", "ext-1", ""},
		{"organization role", "organization: {role: ParapetLogs, external_id: org-ext}\n" + q + "      account: \"222233334444\"\n", "arn:aws:iam::222233334444:role/ParapetLogs", "org-ext", ""},
		{"organization role arn, own external id", "organization: {role: \"arn:aws:iam::{account}:role/path/R\", external_id: org-ext}\n" + q + "      account: \"222233334444\"\n      external_id: own\n",
			"arn:aws:iam::222233334444:role/path/R", "own", ""},
		{"not an arn", q + "      role_arn: LogReader\n", "", "", "sources.s3sqs.0.role_arn"},
		{"account without organization", q + "      account: \"222233334444\"\n", "", "", "organization.role"},
		{"bad account", "organization: {role: R}\n" + q + "      account: \"2222\"\n", "", "", "sources.s3sqs.0.account"},
		{"both", "organization: {role: R}\n" + q + "      account: \"222233334444\"\n      role_arn: arn:aws:iam::222233334444:role/R\n", "", "", "not both"},
		{"external id alone", q + "      external_id: ext-1\n", "", "", "sources.s3sqs.0.external_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Parse = %v, want an error naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if role, ext := c.Sources.S3SQS[0].Role(c.Organization); role != tc.role || ext != tc.extID {
				t.Errorf("Role() = %q, %q; want %q, %q", role, ext, tc.role, tc.extID)
			}
		})
	}
}

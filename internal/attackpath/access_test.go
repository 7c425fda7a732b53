package attackpath

import (
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func bucket(name, policy string) string {
	s := `
resource "aws_s3_bucket" "` + name + `" {
  bucket = "` + name + `"
}
`
	if policy != "" {
		s += `
resource "aws_s3_bucket_policy" "` + name + `" {
  bucket = aws_s3_bucket.` + name + `.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + policy + `] })
}
`
	}
	return s
}

const payroll = "arn:aws:s3:::payroll"

// reach lists source name → path length and access level for --to.
func reach(t *testing.T, g *Graph, to string) map[string]Path {
	t.Helper()
	ps, err := g.Shortest(to)
	if err != nil {
		t.Fatalf("Shortest(%s): %v", to, err)
	}
	out := map[string]Path{}
	for _, p := range ps {
		out[p.SourceName] = p
	}
	return out
}

func TestPathsToResources(t *testing.T) {
	tests := []struct {
		name string
		tf   string
		to   string
		want map[string]int    // source → steps; sources not listed must not reach
		lvl  map[string]string // source → access level of its path
		text map[string]string // source → a substring of its path in words
	}{
		{
			name: "user with s3:GetObject on the bucket",
			tf:   adminRole + bucket("payroll", "") + user("alice", allow("s3:GetObject", payroll+"/*")) + user("bob", allow("s3:GetObject", "arn:aws:s3:::other/*")),
			to:   "payroll",
			want: map[string]int{"alice": 1, "ops-admin": 1},
			lvl:  map[string]string{"alice": AccessRead, "ops-admin": AccessAdmin},
			text: map[string]string{"alice": "alice can read bucket payroll: s3:GetObject on arn:aws:s3:::payroll/* via policy alice-policy, statement 1"},
		},
		{
			name: "a user who can assume a role with access",
			tf: adminRole + bucket("payroll", "") + user("carol", allow("sts:AssumeRole", arn("role", "reader"))) +
				role("reader", trustAWS(arn("user", "carol")), "") + `
resource "aws_iam_role_policy" "reader" {
  name   = "read-payroll"
  role   = aws_iam_role.reader.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("s3:GetObject", payroll+"/*") + `, ` + allow("s3:PutObject", payroll+"/*") + `] })
}`,
			to:   payroll,
			want: map[string]int{"carol": 2, "reader": 1, "ops-admin": 1},
			lvl:  map[string]string{"carol": AccessWrite, "reader": AccessWrite},
			text: map[string]string{"carol": "reader can write to bucket payroll: s3:GetObject on arn:aws:s3:::payroll/* via policy read-payroll, statement 1; s3:PutObject"},
		},
		{
			name: "the bucket policy grants a role",
			tf: bucket("payroll", `{ Effect = "Allow", Principal = { AWS = "`+arn("role", "etl")+`" }, Action = "s3:GetObject", Resource = "`+payroll+`/*" }`) +
				role("etl", trustAWS(arn("user", "dave")), "") + user("dave", allow("sts:AssumeRole", "*")) + user("erin", ""),
			to:   "payroll",
			want: map[string]int{"etl": 1, "dave": 2},
			text: map[string]string{"etl": "s3:GetObject on arn:aws:s3:::payroll/* via resource policy of bucket payroll, statement 1"},
		},
		{
			name: "the bucket policy denies everyone but one role",
			tf: adminRole + role("etl", trustService("glue.amazonaws.com"), adminARN) + user("frank", allow("s3:*", "*")) +
				user("grace", allow("iam:AttachUserPolicy", arn("user", "grace"))) +
				bucket("payroll", `{ Effect = "Deny", Principal = "*", Action = "s3:*", Resource = ["`+payroll+`", "`+payroll+`/*"], Condition = { ArnNotEquals = { "aws:PrincipalArn" = "`+arn("role", "etl")+`" } } }`),
			to:   "payroll",
			want: map[string]int{"etl": 1},
		},
		{
			name: "admins reach it; one who can make itself admin in two steps",
			tf:   adminRole + bucket("payroll", "") + user("grace", allow("iam:AttachUserPolicy", arn("user", "grace"))),
			to:   "payroll",
			want: map[string]int{"ops-admin": 1, "grace": 2},
			text: map[string]string{"grace": "admin can administer bucket payroll"},
		},
		{
			name: "a key whose policy trusts the account root, and an IAM grant",
			tf: user("henry", allow("kms:Decrypt", "*")) + user("ivan", allow("kms:Encrypt", "arn:aws:kms:us-east-1:"+acct+":key/other")) + `
resource "aws_kms_key" "payroll" {
  description = "payroll-key"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::` + acct + `:root" }, Action = "kms:*", Resource = "*" }] })
}`,
			to:   "payroll-key",
			want: map[string]int{"henry": 1},
			lvl:  map[string]string{"henry": AccessRead},
		},
		{
			name: "a key whose policy does not trust the account: IAM grants alone do not count",
			tf: user("henry", allow("kms:Decrypt", "*")) + role("keyadmin", trustService("ec2.amazonaws.com"), "") + `
resource "aws_kms_key" "payroll" {
  description = "payroll-key"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { AWS = "` + arn("role", "keyadmin") + `" }, Action = "kms:*", Resource = "*" }] })
}`,
			to:   "payroll-key",
			want: map[string]int{"keyadmin": 1},
			lvl:  map[string]string{"keyadmin": AccessAdmin},
		},
		{
			name: "a condition that does not hold",
			tf: adminRole + bucket("payroll", "") + user("judy",
				`{ Effect = "Allow", Action = "s3:GetObject", Resource = "*", Condition = { StringEquals = { "aws:PrincipalAccount" = "999999999999" } } }`),
			to:   "payroll",
			want: map[string]int{"ops-admin": 1},
		},
		{
			name: "a permissions boundary caps the grant",
			tf: adminRole + bucket("payroll", "") + user("kim", allow("s3:GetObject", "*")) + `
resource "aws_iam_policy" "cap" {
  name   = "cap"
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("ec2:Describe*", "*") + `] })
}
resource "aws_iam_user" "lou" {
  name                 = "lou"
  permissions_boundary = aws_iam_policy.cap.arn
}
resource "aws_iam_user_policy" "lou" {
  name   = "lou-policy"
  user   = aws_iam_user.lou.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [` + allow("s3:GetObject", "*") + `] })
}`,
			to:   "payroll",
			want: map[string]int{"ops-admin": 1, "kim": 1},
		},
		{
			name: "a secret's resource policy grants a role",
			tf: role("app", trustService("ecs-tasks.amazonaws.com"), "") + user("lee", "") + `
resource "aws_secretsmanager_secret" "db" {
  name   = "db-password"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { AWS = "` + arn("role", "app") + `" }, Action = "secretsmanager:GetSecretValue", Resource = "*" }] })
}`,
			to:   "db-password",
			want: map[string]int{"app": 1},
			lvl:  map[string]string{"app": AccessRead},
		},
		{
			name: "a queue policy (a separate resource) grants a role; the account root delegates",
			tf: role("worker", trustService("ecs-tasks.amazonaws.com"), "") + user("nora", allow("sqs:ReceiveMessage", "*")) + user("otto", "") + `
resource "aws_sqs_queue" "jobs" {
  name = "jobs"
}
resource "aws_sqs_queue_policy" "jobs" {
  queue_url = aws_sqs_queue.jobs.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [
    { Effect = "Allow", Principal = { AWS = "` + arn("role", "worker") + `" }, Action = ["sqs:SendMessage", "sqs:SetQueueAttributes"], Resource = "*" },
    { Effect = "Allow", Principal = { AWS = "arn:aws:iam::` + acct + `:root" }, Action = "sqs:*", Resource = "*" }] })
}`,
			to:   "jobs",
			want: map[string]int{"worker": 1, "nora": 1},
			lvl:  map[string]string{"worker": AccessAdmin, "nora": AccessRead},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := graphOf(t, tc.tf)
			got := reach(t, g, tc.to)
			for src, n := range tc.want {
				p, ok := got[src]
				if !ok {
					t.Errorf("%s does not reach %s; paths: %v", src, tc.to, keys(got))
					continue
				}
				if p.Len() != n {
					t.Errorf("%s: %d steps, want %d:\n%s", src, p.Len(), n, p.Text())
				}
				if p.Steps[len(p.Steps)-1].To != g.findData(tc.to).arn {
					t.Errorf("%s: last step ends at %s", src, p.Steps[len(p.Steps)-1].To)
				}
			}
			for src := range got {
				if _, ok := tc.want[src]; !ok {
					t.Errorf("%s reaches %s, want no path:\n%s", src, tc.to, got[src].Text())
				}
			}
			for src, l := range tc.lvl {
				if got[src].Access != l {
					t.Errorf("%s: access %q, want %q", src, got[src].Access, l)
				}
			}
			for src, s := range tc.text {
				if !strings.Contains(got[src].Text(), s) {
					t.Errorf("%s: path lacks %q:\n%s", src, s, got[src].Text())
				}
			}
		})
	}
}

func keys(m map[string]Path) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPathsToUnknownResource(t *testing.T) {
	g := graphOf(t, adminRole+bucket("payroll", ""))
	_, err := g.Shortest("arn:aws:s3:::nope")
	if err == nil || !strings.Contains(err.Error(), "arn:aws:s3:::nope") {
		t.Fatalf("Shortest(unknown) = %v, want an error naming it", err)
	}
	if _, err := g.All("nope", 4, 5); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("All(unknown) = %v, want an error naming it", err)
	}
}

// Live resources (an ARN, an account) as awsapi reads them: a queue
// whose policy delegates to another account's root reaches that account
// (its own policies must allow it too); a topic without a policy is
// reached by IAM grants.
func TestPathsToLiveQueueAndTopic(t *testing.T) {
	const other = "444455556666"
	res := []*resource.Resource{
		{Type: resource.IAMUser, Name: "mo", ARN: arn("user", "mo"), Account: acct, Attrs: map[string]any{
			resource.AttrInlinePolicies: []any{map[string]any{"name": "pub", "document": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}`}}}},
		{Type: resource.IAMRole, Name: "x", ARN: arn("role", "x"), Account: acct, Attrs: map[string]any{
			resource.AttrTrustDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + other + `:root"},"Action":"sts:AssumeRole"}]}`}},
		{Type: resource.SQSQueue, Name: "jobs", ARN: "arn:aws:sqs:eu-west-1:" + acct + ":jobs", Account: acct, Attrs: map[string]any{
			resource.AttrResourcePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + other + `"},"Action":"sqs:SendMessage","Resource":"*"}]}`}},
		{Type: resource.SNSTopic, Name: "alerts", ARN: "arn:aws:sns:eu-west-1:" + acct + ":alerts", Account: acct, Attrs: map[string]any{}},
	}
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	g := Build(res, ms, Options{})
	q := reach(t, g, "arn:aws:sqs:eu-west-1:"+acct+":jobs")
	ext := g.Node("arn:aws:iam::" + other + ":root")
	if ext == nil {
		t.Fatalf("no node for the other account")
	}
	if len(q) != 1 || q[ext.Name].Access != AccessWrite || q[ext.Name].Len() != 1 {
		t.Errorf("queue: paths %v, want the other account only, 1 step, write access", keys(q))
	}
	if p := q[ext.Name]; len(p.Steps) == 1 && !strings.Contains(p.Text(), "if its own account's policies allow it") {
		t.Errorf("queue: the cross-account step does not say its account must allow it:\n%s", p.Text())
	}
	tp := reach(t, g, "alerts")
	if p, ok := tp["mo"]; !ok || p.Len() != 1 || p.Access != AccessWrite {
		t.Errorf("topic: paths %v, want mo in 1 step with write access", keys(tp))
	}
}

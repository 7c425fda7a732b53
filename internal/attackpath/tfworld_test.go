package attackpath

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// terraform renders the world as Terraform: the same objects build()
// creates on the emulator, as resources of the AWS provider. References
// are used wherever the loader resolves them (a user's, a role's or a
// group's name, a customer managed policy's ARN, a function's role, an
// instance's profile). Literal: AdministratorAccess (an AWS managed
// policy has no resource) and the ARNs inside policy documents, as the
// live world has them (an instance as instance/*: its id is known after
// apply; a function's region and the account come from those ARNs).
func (w liveWorld) terraform() string {
	var b strings.Builder
	res := func(typ, name, body string) {
		fmt.Fprintf(&b, "resource %q %q {\n%s}\n\n", typ, name, body)
	}
	doc := func(s string) string { return "<<-JSON\n" + s + "\nJSON\n" }
	const admin = `"arn:aws:iam::aws:policy/AdministratorAccess"`
	boundary := ""
	if w.boundary != nil {
		res("aws_iam_policy", "attacker_boundary", `  name   = "attacker-boundary"
  policy = `+doc(policyDoc(w.boundary)))
		boundary = "  permissions_boundary = aws_iam_policy.attacker_boundary.arn\n"
	}
	if w.attackerKind == "role" {
		res("aws_iam_role", "attacker", `  name               = "attacker"
  assume_role_policy = `+doc(trustDoc(w.acct, "ec2.amazonaws.com"))+boundary)
		res("aws_iam_role_policy", "attacker", `  name   = "grants"
  role   = aws_iam_role.attacker.name
  policy = `+doc(policyDoc(w.grants)))
	} else {
		res("aws_iam_user", "attacker", "  name = \"attacker\"\n"+boundary)
		res("aws_iam_user_policy", "attacker", `  name   = "grants"
  user   = aws_iam_user.attacker.name
  policy = `+doc(policyDoc(w.grants)))
	}
	if w.group {
		res("aws_iam_group", "attackers", "  name = \"attackers\"\n")
		res("aws_iam_user_group_membership", "attacker", `  user   = aws_iam_user.attacker.name
  groups = [aws_iam_group.attackers.name]
`)
	}
	if w.ownPolicy {
		res("aws_iam_policy", "attacker_tools", `  name   = "attacker-tools"
  policy = `+doc(policyDoc([]statement{{Effect: "Allow", Action: "s3:ListBucket", Resource: "*"}})))
		res("aws_iam_user_policy_attachment", "attacker_tools", `  user       = aws_iam_user.attacker.name
  policy_arn = aws_iam_policy.attacker_tools.arn
`)
	}
	adminRole := func(trust string) {
		res("aws_iam_role", "victim", `  name               = "victim"
  assume_role_policy = `+doc(trustDoc(w.acct, trust)))
		res("aws_iam_role_policy_attachment", "victim", "  role       = aws_iam_role.victim.name\n  policy_arn = "+admin+"\n")
	}
	switch w.targetKind {
	case "user":
		res("aws_iam_user", "victim", "  name = \"victim\"\n")
		res("aws_iam_user_policy_attachment", "victim", "  user       = aws_iam_user.victim.name\n  policy_arn = "+admin+"\n")
	case "group":
		res("aws_iam_group", "admins", "  name = \"admins\"\n")
		res("aws_iam_group_policy_attachment", "admins", "  group      = aws_iam_group.admins.name\n  policy_arn = "+admin+"\n")
	case "role":
		adminRole(w.trust)
	case "function":
		adminRole("lambda.amazonaws.com")
		res("aws_lambda_function", "nightly", `  function_name = "nightly"
  role          = aws_iam_role.victim.arn
  runtime       = "python3.12"
  handler       = "index.handler"
  filename      = "nightly.zip"
`)
	case "instance":
		adminRole("ec2.amazonaws.com")
		res("aws_iam_instance_profile", "victim", "  name = \"victim\"\n  role = aws_iam_role.victim.name\n")
		res("aws_instance", "victim", `  ami                  = "ami-12c6146b"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.victim.name
`)
	}
	return b.String()
}

// Every method the graph evaluates, from Terraform: its vulnerable world
// loaded by the Terraform loader gives exactly the expected steps and a
// path to admin; its look-alike (a Deny, a condition, a boundary, in
// turn) gives none. Unlike the emulator, Terraform keeps users'
// permissions boundaries, so the user-boundary methods and boundary
// look-alikes on users are tested too. No SCP look-alike: the Terraform
// loader maps no aws_organizations_policy (and which account a policy
// attached in a configuration caps, the configuration does not say).
func TestTerraformMethods(t *testing.T) {
	ms, err := BuiltinMethods()
	if err != nil {
		t.Fatal(err)
	}
	tp, fp, fn, worlds := 0, 0, 0, 0
	for i, m := range ms {
		if !m.Evaluated {
			continue
		}
		kinds := []string{"deny", "condition", "boundary"}
		how := kinds[i%len(kinds)]
		if m.Gains == "unbounded" && how == "boundary" {
			how = "deny" // its world is a boundary already
		}
		t.Run(m.ID, func(t *testing.T) {
			function := "arn:aws:lambda:" + liveRegion + ":" + liveAcct + ":function:nightly"
			instance := "arn:aws:ec2:" + liveRegion + ":" + liveAcct + ":instance/*" // the id is known after apply
			w := worldOf(m, liveAcct, instance, function)
			tf := w.terraform()
			g := graphOf(t, tf)
			worlds++
			got, want := stepsOf(g), expected(ms, m, w)
			for _, s := range got {
				if slices.Contains(want, s) {
					tp++
				} else {
					fp++
				}
			}
			for _, s := range want {
				if !slices.Contains(got, s) {
					fn++
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps of the attacker = %v, want %v (problems %v)\n%s", got, want, g.Problems, tf)
			}
			if !reachesAdmin(t, g) {
				t.Errorf("the attacker reaches no administrator (problems %v)", g.Problems)
			}
			t.Run("look-alike "+how, func(t *testing.T) {
				l := lookAlike(w, m, how)
				l.attackerKind = w.attackerKind // Terraform keeps user boundaries
				tf := l.terraform()
				g := graphOf(t, tf)
				if got := stepsOf(g); reachesAdmin(t, g) {
					fp++
					t.Errorf("look-alike (%s) reaches admin: steps %v\n%s", how, got, tf)
				}
			})
		})
	}
	precision, recall := 0.0, 0.0
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		recall = float64(tp) / float64(tp+fn)
	}
	t.Logf("terraform methods: %d worlds, %d expected steps found, %d unexpected (look-alikes reaching admin included), %d missed: precision %.3f, recall %.3f",
		worlds, tp, fp, fn, precision, recall)
	if precision != 1 || recall != 1 {
		t.Errorf("precision %.3f, recall %.3f, want 1 and 1", precision, recall)
	}
}

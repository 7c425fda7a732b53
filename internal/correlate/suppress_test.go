package correlate

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A suppression mutes findings, so it must name what it mutes: an
// expression that does not pin the rule, the principal, a resource or the
// account to a constant (true, a level, a negation, a disjunction with
// something broader) is refused; narrowing terms beside a pinning one are
// fine.
func TestSuppressionMustConstrain(t *testing.T) {
	now := time.Now()
	cases := []struct {
		expr string
		ok   bool
	}{
		{`true`, false},
		{`1 == 1`, false},
		{`finding.level == "low"`, false},
		{`finding.src_ip == "198.51.100.7"`, false},
		{`finding.rule_id != "aws-s3-public-policy"`, false},
		{`!(finding.rule_id == "aws-s3-public-policy")`, false},
		{`finding.rule_id == "aws-s3-public-policy" || true`, false},
		{`finding.rule_id == "aws-s3-public-policy" || finding.level == "low"`, false},
		{`finding.rule_id == ""`, false},
		{`finding.rule_id == "  "`, false},
		{`finding.rule_id in []`, false},
		{`finding.rule_id in ["a", ""]`, false},
		{`finding.rule_id.startsWith("")`, false},
		{`finding.resources.all(r, r.uid == "arn:aws:s3:::logs")`, false},
		{`finding.resources.exists(r, r.uid == "arn:aws:s3:::logs" || true)`, false},
		{`finding.event_ids.exists(e, e == "ev-1")`, false},
		{`finding.resources.exists(r, finding.rule_id != "")`, false},
		{`finding.rule_id == finding.rule_id`, false},
		{`finding.rule_id == "aws-s3-public-policy"`, true},
		{`"aws-s3-public-policy" == finding.rule_id`, true},
		{`finding["rule_id"] == "aws-s3-public-policy"`, true},
		{`finding.actor.arn == "arn:aws:iam::123456789012:user/mallory" && finding.src_ip == "198.51.100.7"`, true},
		{`finding.level == "low" && (finding.src_ip == "x" && finding.actor.user_name == "ci")`, true},
		{`finding.actor.access_key_id == "AKIAIOSFODNN7EXAMPLE"`, true},
		{`finding.actor.principal_id == "AIDAEXAMPLE"`, true},
		{`finding.cloud.account in ["111122223333", "444455556666"]`, true},
		{`finding.resources.exists(r, r.uid == "arn:aws:s3:::logs")`, true},
		{`finding.resources.exists(r, r.name == "logs" && r.type == "AWS::S3::Bucket")`, true},
	}
	for _, c := range cases {
		s := &Suppression{Expr: c.expr, Reason: "r", Expires: now.Add(time.Hour)}
		err := s.Compile(now)
		if (err == nil) != c.ok {
			t.Errorf("Compile(%q) = %v, want ok %v", c.expr, err, c.ok)
		}
		if err != nil && !c.ok && !strings.Contains(err.Error(), "rule") {
			t.Errorf("Compile(%q) = %v: want it to say what to constrain", c.expr, err)
		}
	}
}

// The cost of a suppression is bounded: nested loops that would run for
// seconds per finding are refused when the suppression is made (CEL's
// cost estimate), and a finding whose data makes an accepted expression
// expensive stops at the runtime limit (no match: the finding is filed)
// instead of stalling the pipeline.
func TestSuppressionCost(t *testing.T) {
	now := time.Now()
	var hundred []string
	for i := range 100 {
		hundred = append(hundred, fmt.Sprint(i))
	}
	list := "[" + strings.Join(hundred, ",") + "]"
	for _, expr := range []string{
		`finding.rule_id == "r" && ` + list + `.exists(a, ` + list + `.exists(b, ` + list + `.exists(c, ` + list + `.exists(d, a + b + c + d == -1))))`,
		`finding.rule_id == "r" && finding.event_ids.exists(a, finding.event_ids.exists(b, finding.event_ids.exists(c, a + b + c == "x")))`,
	} {
		s := &Suppression{Expr: expr, Reason: "r", Expires: now.Add(time.Hour)}
		if err := s.Compile(now); err == nil || !strings.Contains(err.Error(), "cost") {
			t.Errorf("Compile(%.80q…) = %v, want a cost error", expr, err)
		}
	}
	s := &Suppression{Expr: `finding.rule_id == "r" && finding.event_ids.exists(e, e == "needle")`, Reason: "r", Expires: now.Add(time.Hour)}
	if err := s.Compile(now); err != nil {
		t.Fatal(err)
	}
	doc := func(n int) map[string]any {
		ids := make([]any, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("ev-%d", i)
		}
		ids[n-1] = "needle"
		return map[string]any{"rule_id": "r", "event_ids": ids}
	}
	if !s.Matches(doc(10), now, nil) {
		t.Error("a cheap finding does not match")
	}
	if s.Matches(doc(200_000), now, nil) {
		t.Error("a finding past the runtime cost limit matched")
	}
}

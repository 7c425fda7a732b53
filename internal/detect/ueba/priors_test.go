package ueba

import (
	"strings"
	"testing"
	"time"
)

// TestBuiltinPriors: the shipped global priors parse, and rank APIs as
// their comments promise.
func TestBuiltinPriors(t *testing.T) {
	pt, err := builtinPriors()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		service, op, tier string
	}{
		{"sts", "GetCallerIdentity", "identity checks and sign-in"},
		{"iam", "CreateAccessKey", "credential creation"},
		{"iam", "CreateLoginProfile", "credential creation"},
		{"iam", "AttachUserPolicy", "IAM and policy changes"},
		{"iam", "PutUserPolicy", "IAM and policy changes"},
		{"iam", "CreateUser", "IAM and policy changes"},
		{"iam", "ListUsers", "account and identity enumeration"},
		{"iam", "ListAttachedUserPolicies", "account and identity enumeration"},
		{"cloudtrail", "StopLogging", "logging and security-service changes"},
		{"ec2", "ModifySnapshotAttribute", "sharing and exposure"},
		{"ec2", "DescribeInstances", "everyday reads"},
		{"rds", "DescribeDBInstances", "other reads"},
		{"dynamodb", "PutItem", "ordinary writes"},
		{"ec2", "RunInstances", "resource creation and change"},
		{"frobnicator", "Frob", ""},
	} {
		share, tier := pt.share(c.service, c.op)
		if tier != c.tier {
			t.Errorf("%s:%s: tier %q, want %q", c.service, c.op, tier, c.tier)
		}
		if c.tier == "" && share != pt.def {
			t.Errorf("%s:%s: share %g, want the default %g", c.service, c.op, share, pt.def)
		}
	}
	rare, _ := pt.share("iam", "CreateAccessKey")
	enum, _ := pt.share("iam", "ListUsers")
	common, _ := pt.share("ec2", "DescribeInstances")
	who, _ := pt.share("sts", "GetCallerIdentity")
	if !(rare < enum && enum < common && common < who) {
		t.Errorf("shares: CreateAccessKey %g, ListUsers %g, DescribeInstances %g, GetCallerIdentity %g: want them rising", rare, enum, common, who)
	}
}

func TestParsePriorsRejects(t *testing.T) {
	for _, doc := range []string{
		"",
		"default: 0.1\ntiers: []",
		"default: 0\ntiers:\n  - name: x\n    share: 0.5\n    actions: [iam:X]",
		"default: 0.1\ntiers:\n  - name: x\n    share: 1.5\n    actions: [iam:X]",
		"default: 0.1\ntiers:\n  - name: x\n    share: 0\n    actions: [iam:X]",
		"default: 0.1\ntiers:\n  - name: x\n    share: 0.5\n    actions: [iamX]",
		"default: 0.1\ntiers:\n  - name: x\n    share: 0.5\n    actions: ['iam:*X']",
		"default: 0.1\ntiers:\n  - share: 0.5\n    actions: [iam:X]",
		"default: 0.1\ntiers:\n  - name: x\n    share: 0.5\n    weight: 1",
	} {
		if _, err := parsePriors([]byte(doc)); err == nil || !strings.Contains(err.Error(), "global priors") {
			t.Errorf("%q: err %v", doc, err)
		}
	}
}

// TestGlobalPriorInAnEmptyAccount: in an account with no history, a
// principal's first CreateAccessKey (for another user) scores higher than
// its first DescribeInstances, on the API's rarity across accounts, and the
// explanation says the global prior judged; without the priors neither
// API is rare in an account that has seen nothing.
func TestGlobalPriorInAnEmptyAccount(t *testing.T) {
	apiFactor := func(e *Engine, op string) (float64, string) {
		t.Helper()
		ev := call("alice", op, t0.Add(10*time.Hour), "203.0.113.10")
		key, kind := principalKey(&ev)
		ent := &entity{key: key, name: displayName(&ev), kind: kind, group: "111122223333/" + kind}
		acct := &account{id: "111122223333", first: t0.Unix(), all: group{key: "account 111122223333"}}
		grp := &group{key: ent.group}
		var hs [nFeat]uint64
		var has [nFeat]bool
		ts := ev.Time.Unix()
		e.featureHashes(&ev, ent, ts, &hs, &has)
		for _, f := range e.score(&ev, ent, grp, acct, ts, &hs, &has, nil) {
			if f.feature == fAPI && f.model == "novelty" {
				f.value = featureValue(&ev, ent, fAPI)
				return f.score, e.words(ent, &f)
			}
		}
		return 0, ""
	}
	e := New(Config{})
	cred, why := apiFactor(e, "iam:CreateAccessKey")
	read, _ := apiFactor(e, "ec2:DescribeInstances")
	if cred < 1.5 || cred <= read+1 {
		t.Errorf("an empty account: the first CreateAccessKey scores %.2f, the first DescribeInstances %.2f", cred, read)
	}
	if !strings.Contains(why, "global prior") || !strings.Contains(why, "global prior judges: about 1% of principals in a typical account") {
		t.Errorf("the CreateAccessKey factor is not explained by the global prior: %q", why)
	}
	e.priors = nil
	if cred, _ := apiFactor(e, "iam:CreateAccessKey"); cred != 0 {
		t.Errorf("without priors an empty account finds a first CreateAccessKey rare (%.2f): the test measures nothing", cred)
	}
}

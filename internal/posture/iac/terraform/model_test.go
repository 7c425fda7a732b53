package terraform

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestSplitResources(t *testing.T) {
	by, errs := load(t, "testdata/split")
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	// An Aurora member's encryption is its cluster's, whatever it says.
	if got := attr(by["aws_db_instance.member"], "encrypted"); got != false {
		t.Errorf("member encrypted = %v, want the cluster's false", got)
	}
	if got := attr(by["aws_db_instance.elsewhere"], "encrypted"); got != resource.Unknown {
		t.Errorf("member of a cluster not in the scan: encrypted = %v, want unknown", got)
	}
	// Two split resources naming a bucket the scan does not declare join
	// one bucket of their own, the rest of which is unknown.
	b := by["aws_s3_bucket_public_access_block.shared"]
	if b == nil || b.Type != resource.S3Bucket || b.Name != "acme-shared" {
		t.Fatalf("orphan bucket = %+v", b)
	}
	if pab, _ := attr(b, "public_access_block").(map[string]any); pab["block_public_policy"] != true {
		t.Errorf("public_access_block = %v", attr(b, "public_access_block"))
	}
	if attr(b, "encryption") != resource.Unknown {
		t.Errorf("encryption = %v, want unknown", attr(b, "encryption"))
	}
	if by["aws_s3_bucket_policy.shared"] != nil {
		t.Errorf("the policy made a second bucket")
	}
	sts, _ := attr(b, "policy_statements").([]any)
	if len(sts) != 1 {
		t.Fatalf("policy_statements = %v", attr(b, "policy_statements"))
	}
	st := sts[0].(map[string]any)
	if st["effect"] != "Allow" || len(st["not_actions"].([]any)) != 1 || st["has_condition"] != true {
		t.Errorf("statement from aws_iam_policy_document = %v", st)
	}
}

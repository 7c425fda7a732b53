package cloudformation

import (
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func TestJoinsAndForms(t *testing.T) {
	res, err := Load("testdata/joins.yaml", "testdata")
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*resource.Resource{}
	for _, r := range res {
		by[r.Address] = r
	}
	get := func(id, k string) any {
		r := by[id]
		if r == nil {
			t.Fatalf("%s missing (have %v)", id, by)
		}
		v, _ := r.Get(k)
		return v
	}
	// Joins by literal name (Users: [alice]) and by logical id (UserName: Alice).
	if got := get("Alice", "direct_policies"); got != true {
		t.Errorf("alice direct_policies = %v", got)
	}
	if got := get("Alice", "access_keys"); got != 1.0 {
		t.Errorf("alice access_keys = %v", got)
	}
	// An Aurora member takes its cluster's encryption.
	if got := get("Member", "encrypted"); got != true {
		t.Errorf("member encrypted = %v", got)
	}
	// The second document: an ingress for a group the template does not
	// declare is its own group; /0 is the internet.
	in, _ := get("Open", "ingress").([]any)
	if len(in) != 1 || in[0].(map[string]any)["cidr_blocks"].([]any)[0] != "0.0.0.0/0" || in[0].(map[string]any)["protocol"] != "udp" {
		t.Errorf("orphan ingress = %v", in)
	}
	if get("Open", "egress") != resource.Unknown {
		t.Errorf("orphan egress = %v, want unknown", get("Open", "egress"))
	}
	if by["Open"].Location.StartLine != 36 {
		t.Errorf("the second document's lines count from the file's start: %+v", by["Open"].Location)
	}
	if get("Trail", "kms_encrypted") != false || get("Trail", "cloudwatch_logs") != false || get("Trail", "global_service_events") != true {
		t.Errorf("trail: %v", by["Trail"].Attrs)
	}
}

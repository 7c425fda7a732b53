package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Attributes on other lines than their block, a child resource that
// supplies the value, and a missing attribute.
const locationTF = `resource "aws_s3_bucket" "data" {
  bucket = "data"

  acl = "public-read"
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_db_instance" "db" {
  identifier = "db"
  engine     = "postgres"

    storage_encrypted = false
}

resource "aws_db_instance" "bare" {
  identifier = "bare"
}
`

const locationCFN = `AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Data:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: data-cfn
      AccessControl: PublicRead
  DB:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      StorageEncrypted: false
`

func writeLocationTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"main.tf": locationTF, "stack.cfn.yaml": locationCFN} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A failure points at the attribute that decided it (file:line:column),
// or at the child resource that supplied it, or at the block when the
// attribute is missing; the block is the secondary location.
func TestScanLocations(t *testing.T) {
	dir := writeLocationTree(t)
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]scanResult{}
	for _, r := range rep.Results {
		if r.Status == "fail" {
			got[r.CheckID+" "+r.Resource.Address] = r
		}
	}
	for _, tc := range []struct {
		key, attr, where, block string
	}{
		{"PARAPET-S3-002 aws_s3_bucket.data", "public_acl", "main.tf:4:3", "main.tf:1:1"},          // acl =, three lines into the block
		{"PARAPET-S3-001 aws_s3_bucket.data", "public_access_block", "main.tf:7:1", "main.tf:1:1"}, // the child resource that supplied it
		{"PARAPET-RDS-002 aws_db_instance.db", "encrypted", "main.tf:19:5", "main.tf:15:1"},        // storage_encrypted = false
		{"PARAPET-RDS-002 aws_db_instance.bare", "encrypted", "main.tf:22:1", ""},                  // missing: the block
		{"PARAPET-S3-002 Data", "public_acl", "stack.cfn.yaml:7:7", "stack.cfn.yaml:4:5"},          // AccessControl: PublicRead
		{"PARAPET-RDS-002 DB", "encrypted", "stack.cfn.yaml:12:7", "stack.cfn.yaml:9:5"},           // StorageEncrypted: false
		{"PARAPET-S3-001 Data", "public_access_block", "stack.cfn.yaml:4:5", ""},                   // missing: the block
		{"PARAPET-RDS-003 aws_db_instance.db", "backup_retention", "main.tf:15:1", ""},             // missing: the block
	} {
		r, ok := got[tc.key]
		if !ok {
			t.Errorf("%s: no failure", tc.key)
			continue
		}
		block := ""
		if r.Block != nil {
			block = r.Block.String()
		}
		if r.Attribute != tc.attr || r.Location.String() != tc.where || block != tc.block || len(r.Fingerprint) != 32 {
			t.Errorf("%s: attribute %q at %s, block %q, fingerprint %q; want %q at %s, block %q", tc.key, r.Attribute, r.Location, block, r.Fingerprint, tc.attr, tc.where, tc.block)
		}
	}

	// The table and the HTML report say the same file:line:column.
	table, _, _ := run(t, "", "scan", "iac", dir)
	html, _, _ := run(t, "", "scan", "iac", "--format", "html", dir)
	for _, w := range []string{"main.tf:4:3 (public_acl)", "main.tf:19:5 (encrypted)", "stack.cfn.yaml:7:7 (public_acl)"} {
		if !strings.Contains(table, w) {
			t.Errorf("table: no %q", w)
		}
		if !strings.Contains(html, w) {
			t.Errorf("html: no %q", w)
		}
	}

	// SARIF: the attribute's region with its column, the block as a
	// related location, the fingerprint; valid against the schema.
	sarif, _, _ := run(t, "", "scan", "iac", "--format", "sarif", dir)
	validateSARIF(t, sarif)
	var s sarifDoc
	if err := json.Unmarshal([]byte(sarif), &s); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, res := range s.Runs[0].Results {
		if res.RuleID != "PARAPET-S3-002" || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != "main.tf" {
			continue
		}
		found = true
		reg := res.Locations[0].PhysicalLocation.Region
		if reg.StartLine != 4 || reg.StartColumn != 3 || len(res.RelatedLocations) != 1 || res.RelatedLocations[0].PhysicalLocation.Region.StartLine != 1 ||
			res.PartialFingerprints["parapet/v2"] != got["PARAPET-S3-002 aws_s3_bucket.data"].Fingerprint {
			t.Errorf("SARIF result: %+v", res)
		}
	}
	if !found {
		t.Error("no SARIF result for PARAPET-S3-002 in main.tf")
	}
}

type sarifRegion struct{ StartLine, StartColumn, EndLine int }

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct{ URI string }
		Region           sarifRegion
	}
}

type sarifDoc struct {
	Runs []struct {
		Results []struct {
			RuleID              string
			BaselineState       string
			PartialFingerprints map[string]string
			Locations           []sarifLocation
			RelatedLocations    []sarifLocation
		}
	}
}

func validateSARIF(t *testing.T, out string) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile("testdata/sarif/sarif-2.1.0-rtm.5.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("SARIF does not validate: %v", err)
	}
}

// A scan that finds nothing writes results: [], not null, in JSON and
// SARIF (and suppressed: []).
func TestScanEmptyResults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("variable \"x\" {\n  default = 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "scan", "iac", "--format", "json", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if string(rep["results"]) != "[]" || string(rep["suppressed"]) != "[]" {
		t.Errorf("json: results %s, suppressed %s", rep["results"], rep["suppressed"])
	}
	sarif, _, _ := run(t, "", "scan", "iac", "--format", "sarif", dir)
	validateSARIF(t, sarif)
	var s struct {
		Runs []struct {
			Results json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(sarif), &s); err != nil || len(s.Runs) != 1 || strings.Join(strings.Fields(string(s.Runs[0].Results)), "") != "[]" {
		t.Errorf("sarif results: %s (%v)", s.Runs[0].Results, err)
	}
	// With a baseline of nothing: still [] everywhere, fixed_results too.
	base := filepath.Join(t.TempDir(), "baseline.json")
	if _, errOut, code := run(t, "", "scan", "iac", "--write-baseline", base, dir); code != ExitOK {
		t.Fatalf("write baseline: exit %d: %s", code, errOut)
	}
	out, _, _ = run(t, "", "scan", "iac", "--format", "json", "--baseline", base, dir)
	if !strings.Contains(out, `"fixed_results": []`) || !strings.Contains(out, `"results": []`) {
		t.Errorf("json with baseline: %s", out)
	}
	if b, _ := os.ReadFile(base); !strings.Contains(string(b), `"failures": []`) {
		t.Errorf("baseline of nothing: %s", b)
	}
}

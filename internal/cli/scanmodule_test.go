package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/parapet-sec/parapet/internal/ocsf"
	"github.com/parapet-sec/parapet/internal/sharedtest"
)

// A module Parapet cannot expand is reported as "module not scanned",
// with its source, in every output format; a public module is mapped
// from its inputs and its resources are checked.
func TestScanModuleNotScanned(t *testing.T) {
	dir := t.TempDir()
	src := `module "network" {
  source = "git::https://git.example.com/infra/network.git?ref=v3"
}

module "bastion" {
  source              = "terraform-aws-modules/security-group/aws//modules/ssh"
  name                = "bastion"
  ingress_cidr_blocks = ["0.0.0.0/0"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	const source = "git::https://git.example.com/infra/network.git?ref=v3"
	for _, format := range []string{"table", "json", "sarif", "ocsf", "html"} {
		t.Run(format, func(t *testing.T) {
			out, errOut, code := run(t, "", "scan", "iac", "--format", format, dir)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "module not scanned") && format != "ocsf" || !strings.Contains(out, source) && format != "sarif" && format != "ocsf" {
				t.Errorf("no notice in %s:\n%s", format, out)
			}
			if !strings.Contains(out, "module.bastion.aws_security_group") && format != "sarif" && format != "html" {
				t.Errorf("the mapped module's group is not in the %s report", format)
			}
			switch format {
			case "json":
				var rep scanReport
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatal(err)
				}
				if len(rep.Notices) != 1 || rep.Notices[0].Source != source || rep.Notices[0].Location.File != "main.tf" || rep.Notices[0].Location.StartLine != 1 {
					t.Errorf("notices = %+v", rep.Notices)
				}
				failed := false
				for _, r := range rep.Results {
					failed = failed || r.CheckID == "PARAPET-EC2-001" && r.Status == "fail" && strings.HasPrefix(r.Resource.Address, "module.bastion.")
				}
				if !failed {
					t.Errorf("SSH open through the public module is not reported")
				}
			case "sarif":
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
				if !strings.Contains(out, "toolExecutionNotifications") || !strings.Contains(out, "module.network") {
					t.Errorf("no tool execution notification:\n%s", out)
				}
			case "ocsf":
				schema, err := ocsf.Load(sharedtest.Path(t, "ocsf/ocsf-1.8.0-compiled.compact.json"))
				if err != nil {
					t.Fatal(err)
				}
				found := false
				sc := bufio.NewScanner(strings.NewReader(out))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var f map[string]any
					if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
						t.Fatal(err)
					}
					for _, e := range schema.Validate(f) {
						t.Errorf("finding: %v", e)
					}
					found = found || strings.Contains(sc.Text(), "PARAPET-MODULE-NOT-SCANNED") && strings.Contains(sc.Text(), "module.network")
				}
				if !found {
					t.Errorf("no module-not-scanned finding:\n%s", out)
				}
			}
		})
	}
}

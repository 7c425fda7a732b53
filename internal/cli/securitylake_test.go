package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-sec/parapet/internal/decode/ocsfparquet/ocsftest"
)

// TestSecurityLakeCommands runs detect, lake import and hunt on a folder
// laid out as AWS Security Lake lays out its OCSF Parquet.
func TestSecurityLakeCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "security-lake")
	if _, err := ocsftest.WriteLake(src); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "detect", "--no-ueba", filepath.Join(src, "aws"))
	if code != ExitOK {
		t.Fatalf("detect: exit %d: %s", code, errOut)
	}
	for title, n := range map[string]int{"AdministratorAccess Policy Attached": 1, "SSH Or RDP Accepted From The Internet": 1, "Console Login Without MFA": 1} {
		if got := strings.Count(out, `"title":"`+title+`"`); got != n {
			t.Errorf("detect: %d findings %q, want %d\n%s", got, title, n, out)
		}
	}

	lakeDir := filepath.Join(dir, "lake")
	if _, errOut, code := run(t, "", "lake", "import", "--lake", lakeDir, "--progress", "never", filepath.Join(src, "aws")); code != ExitOK {
		t.Fatalf("lake import: exit %d: %s", code, errOut)
	}
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir, "--cel", `access_key_id == "AKIAEXAMPLEALICE0001"`)
	if code != ExitOK || strings.Count(out, "\n") != 3 || !strings.Contains(out, "ct-attach-denied") {
		t.Errorf("hunt --cel: exit %d: %s\n%s", code, errOut, out)
	}
	out, errOut, code = run(t, "", "hunt", "--lake", lakeDir)
	if code != ExitOK || strings.Count(out, `"title":"AdministratorAccess Policy Attached"`) != 1 {
		t.Errorf("hunt: exit %d: %s\n%s", code, errOut, out)
	}
}

package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/posture/resource"
)

func FuzzLoadSuppressions(f *testing.F) {
	f.Add([]byte("suppressions:\n  - check: PARAPET-S3-*\n    resource: 'aws_s3_bucket.logs'\n    reason: r\n    expires: 2030-01-01\n"))
	f.Add([]byte("suppressions: 3\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sups, errs := LoadSuppressions(p)
		for _, e := range errs {
			if !strings.Contains(e.Error(), p) {
				t.Errorf("an error without the file: %v", e)
			}
		}
		r := &resource.Resource{Type: resource.S3Bucket, Name: "logs", Address: "aws_s3_bucket.logs"}
		_ = ApplySuppressions([]Result{{CheckID: "PARAPET-S3-006", Status: Fail, Resource: r}}, sups, time.Now())
	})
}

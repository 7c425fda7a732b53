package hunt

import (
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/lake"
)

func TestFilter(t *testing.T) {
	row := &lake.Row{Time: time.Date(2026, 11, 3, 9, 30, 0, 0, time.UTC).UnixMilli(), ClassUID: 6003, AccessKeyID: "AKIAEXAMPLE",
		APIOperation: "PutBucketPolicy", ErrorCode: "AccessDenied", ResourceARNs: []string{"arn:aws:s3:::reports"}, Account: "111122223333"}
	for expr, want := range map[string]bool{
		`access_key_id == "AKIAEXAMPLE" && api_operation.startsWith("Put")`:   true,
		`error_code != "" && class_uid == 6003`:                               true,
		`"arn:aws:s3:::reports" in resource_arns`:                             true,
		`time > timestamp("2026-11-03T09:00:00Z") && account_id == "1"`:       false,
		`time.getHours() == 9 && region == ""`:                                true,
		`resource_arns.exists(a, a.endsWith(":logs")) || src_ip == "1.2.3.4"`: false,
	} {
		f, err := Compile(expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		if got, err := f.Match(row); err != nil || got != want {
			t.Errorf("Match(%q) = %v, %v; want %v", expr, got, err, want)
		}
	}
	for _, bad := range []string{`access_key_id`, `nope == 1`, `class_uid == "6003"`, `(`} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q): no error", bad)
		}
	}
}

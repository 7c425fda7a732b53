package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/parapet-sec/parapet/internal/posture/framework"
)

// TestWriteScanJSON: the streamed, chunked encoder writes byte for byte
// what json.Encoder with two-space indentation writes, for no result, one,
// and more than a chunk's worth, with characters the encoder escapes.
func TestWriteScanJSON(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1000} {
		rep := scanReport{Tool: "parapet", Version: "dev", Scanned: "a<b>&c", Resources: n, Checks: 3,
			Suppressed: []scanResult{{CheckID: "S-1", Title: `"results": []`, Status: "suppressed"}},
			Results:    []scanResult{},
			Frameworks: []framework.Score{{ID: "soc2", Title: "SOC 2"}},
			Notices:    []scanNotice{{Kind: "module not scanned", Message: "m"}}, Seconds: 1.5}
		for i := range n {
			rep.Results = append(rep.Results, scanResult{CheckID: fmt.Sprintf("C-%d", i%7), Title: "t <x> & \u2028",
				Status: "fail", Severity: "high", Fingerprint: fmt.Sprint(i), Resource: scanResource{Type: "aws_s3_bucket", Name: fmt.Sprint(i)},
				Location:   scanLocation{File: "main.tf", StartLine: i + 1},
				Frameworks: map[string][]string{"soc2": {"CC6.1"}, "hipaa": {"a", "b"}}})
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeScanJSON(&got, rep); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			i := 0
			for i < min(got.Len(), want.Len()) && got.Bytes()[i] == want.Bytes()[i] {
				i++
			}
			t.Fatalf("%d results: output differs at byte %d: got %q, want %q", n, i,
				got.Bytes()[max(0, i-40):min(got.Len(), i+40)], want.Bytes()[max(0, i-40):min(want.Len(), i+40)])
		}
	}
}

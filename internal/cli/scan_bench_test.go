package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/content"
)

// genTree writes a Terraform tree of n resources: 50 modules, each with
// variables, locals, buckets with their split resources, security groups,
// instances and databases.
func genTree(tb testing.TB, n int) string {
	dir := tb.TempDir()
	per := n / 50
	for m := range 50 {
		d := filepath.Join(dir, fmt.Sprintf("svc-%02d", m))
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "variable \"env\" {\n  default = \"prod\"\n}\nlocals {\n  prefix = \"acme-${var.env}-%02d\"\n}\n", m)
		for i := 0; i < per; i += 5 {
			fmt.Fprintf(&b, `resource "aws_s3_bucket" "b%[1]d" {
  bucket = "${local.prefix}-b%[1]d"
}
resource "aws_s3_bucket_public_access_block" "b%[1]d" {
  bucket                  = aws_s3_bucket.b%[1]d.id
  block_public_acls       = true
  block_public_policy     = %[2]v
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_security_group" "s%[1]d" {
  name = "s%[1]d"
  ingress {
    from_port   = %[3]d
    to_port     = %[3]d
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_instance" "i%[1]d" {
  ami           = "ami-1"
  instance_type = "t3.micro"
  metadata_options {
    http_tokens = "required"
  }
}
resource "aws_db_instance" "d%[1]d" {
  identifier        = "${local.prefix}-d%[1]d"
  storage_encrypted = true
}
`, i, i%7 != 0, []int{443, 22, 80}[i%3])
		}
		if err := os.WriteFile(filepath.Join(d, "main.tf"), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkScan5000: parapet scan iac on a generated tree of 5,000
// resources, end to end (load checks, read and evaluate the HCL, join,
// check, score frameworks, write JSON to a file, as `> report.json` does).
func BenchmarkScan5000(b *testing.B) {
	dir := genTree(b, 5000)
	outPath := filepath.Join(b.TempDir(), "report.json")
	for b.Loop() {
		out, err := os.Create(outPath)
		if err != nil {
			b.Fatal(err)
		}
		var errb bytes.Buffer
		cmd := New(IO{In: strings.NewReader(""), Out: out, Err: &errb})
		cmd.SetArgs([]string{"scan", "iac", "--format", "json", dir})
		code := Exit(&errb, cmd.ExecuteContext(context.Background()))
		info, _ := out.Stat()
		out.Close()
		// 5,000 Terraform resources; the 1,000 public access blocks join
		// their buckets in the model.
		if code != ExitOK || !strings.Contains(errb.String(), "4000 resources") || info.Size() == 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
}

// copyChecks writes copies extra copies of every builtin AWS check (new
// ids, same conditions, the same resource types or, elsewhere, types
// the tree does not hold) into a folder for --checks, so that a scan runs
// copies+1 times the builtin number of CEL checks.
func copyChecks(tb testing.TB, copies int, elsewhere bool) string {
	dir := tb.TempDir()
	entries, err := fs.Glob(content.FS, "checks/aws/*.yaml")
	if err != nil || len(entries) == 0 {
		tb.Fatalf("no builtin checks: %v", err)
	}
	for c := 1; c <= copies; c++ {
		for _, e := range entries {
			data, err := fs.ReadFile(content.FS, e)
			if err != nil {
				tb.Fatal(err)
			}
			s := strings.Replace(string(data), "id: PARAPET-", fmt.Sprintf("id: COPY%d-", c), 1)
			if elsewhere {
				// The copy applies to a type the tree does not hold.
				s = strings.Replace(s, "\nresource: ", "\nresource: x_", 1)
			}
			name := fmt.Sprintf("c%d_%s", c, path.Base(e))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return dir
}

// BenchmarkScanChecks scans the 5,000-resource tree with 1, 2 and 4 times
// the builtin checks and reports the peak live heap during the scan
// (live bytes marked by each GC, from runtime/metrics) beside B/op: what
// adding checks costs in memory. "same" copies apply to the same
// resources, so the results (and the JSON report) grow with them;
// "elsewhere" copies apply to types the tree does not hold, which
// measures what a check costs beyond its results.
func BenchmarkScanChecks(b *testing.B) {
	dir := genTree(b, 5000)
	for _, bc := range []struct {
		copies    int
		elsewhere bool
	}{{0, false}, {1, false}, {3, false}, {3, true}} {
		checksDir := copyChecks(b, bc.copies, bc.elsewhere)
		copies := bc.copies
		name := fmt.Sprintf("x%d", copies+1)
		if copies > 0 {
			name += map[bool]string{false: "-same", true: "-elsewhere"}[bc.elsewhere]
		}
		b.Run(name, func(b *testing.B) {
			outPath := filepath.Join(b.TempDir(), "report.json")
			var peak uint64
			for b.Loop() {
				runtime.GC()
				stop := samplePeakHeap(&peak)
				out, err := os.Create(outPath)
				if err != nil {
					b.Fatal(err)
				}
				var errb bytes.Buffer
				cmd := New(IO{In: strings.NewReader(""), Out: out, Err: &errb})
				args := []string{"scan", "iac", "--format", "json", dir}
				if copies > 0 {
					args = append(args, "--checks", checksDir)
				}
				cmd.SetArgs(args)
				code := Exit(&errb, cmd.ExecuteContext(context.Background()))
				out.Close()
				stop()
				if code != ExitOK || !strings.Contains(errb.String(), "4000 resources") {
					b.Fatalf("exit %d: %s", code, errb.String())
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-live-MiB")
		})
	}
}

// samplePeakHeap records the largest live heap (as marked by the last GC)
// seen until stop is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > *peak {
				*peak = v
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

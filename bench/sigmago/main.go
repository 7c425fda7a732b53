// Command sigmago evaluates Sigma rules with github.com/bradleyjkemp/sigma-go
// on CloudTrail log files, for the side-by-side comparison with parapet
// detect (bench/compare-sigma.sh). Each record is decoded with
// encoding/json into map[string]any and its nested objects are flattened
// into dotted keys (requestParameters.bucketName), the field names Sigma's
// CloudTrail rules use, since sigma-go looks fields up as map keys.
//
// It prints one "rule-id<TAB>eventID" line per match on stdout, and on
// stderr the rules it could not evaluate and the timings.
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"
)

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		out[key] = v
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
		}
	}
}

func main() {
	rulesDir := flag.String("rules", "", "folder of Sigma rules (SigmaHQ rules/cloud/aws)")
	logs := flag.String("logs", "", "folder of CloudTrail .json.gz files")
	flag.Parse()

	type loaded struct {
		id string
		ev *evaluator.RuleEvaluator
	}
	var rules []loaded
	_ = filepath.WalkDir(*rulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		b, _ := os.ReadFile(p)
		r, err := sigma.ParseRule(b)
		if err != nil {
			fmt.Fprintf(os.Stderr, "parse %s: %v\n", p, err)
			return nil
		}
		rules = append(rules, loaded{id: r.ID, ev: evaluator.ForRule(r)})
		return nil
	})

	// Decode every record first, so evaluation can be timed alone.
	start := time.Now()
	var events []map[string]any
	var ids []string
	_ = filepath.WalkDir(*logs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") || strings.Contains(p, "Digest") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		var file struct {
			Records []map[string]any `json:"Records"`
		}
		if err := json.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range file.Records {
			flat := make(map[string]any, 64)
			flatten("", r, flat)
			events = append(events, flat)
			id, _ := r["eventID"].(string)
			ids = append(ids, id)
		}
		return nil
	})
	decoded := time.Since(start)

	ctx := context.Background()
	failed := map[string]string{}
	var matches []string
	evalStart := time.Now()
	for i, ev := range events {
		for _, r := range rules {
			if _, bad := failed[r.id]; bad {
				continue
			}
			res, err := r.ev.Matches(ctx, ev)
			if err != nil {
				failed[r.id] = err.Error()
				continue
			}
			if res.Match {
				matches = append(matches, r.id+"\t"+ids[i])
			}
		}
	}
	evaluated := time.Since(evalStart)
	sort.Strings(matches)
	for _, m := range matches {
		fmt.Println(m)
	}
	var bad []string
	for id, e := range failed {
		bad = append(bad, id+": "+e)
	}
	sort.Strings(bad)
	for _, b := range bad {
		fmt.Fprintf(os.Stderr, "rule not evaluated: %s\n", b)
	}
	n := float64(len(events))
	fmt.Fprintf(os.Stderr, "sigma-go: %d events, %d rules (%d failed), %d matches; decode %.2fs, evaluate %.2fs: %.0f events/s end to end, %.0f events/s evaluation only\n",
		len(events), len(rules), len(failed), len(matches), decoded.Seconds(), evaluated.Seconds(), n/(decoded+evaluated).Seconds(), n/evaluated.Seconds())
	if len(events) == 0 {
		log.Fatal("no events")
	}
}

package check

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parapet-sec/parapet/internal/posture/awsconfig"
	"github.com/parapet-sec/parapet/internal/posture/iac/cloudformation"
	"github.com/parapet-sec/parapet/internal/posture/iac/terraform"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// ExampleResult is one example file run against its check.
type ExampleResult struct {
	Check *Check
	File  string
	Want  string // pass or fail
	Got   []Result
	Err   error
}

// OK reports whether the example behaved as its name says: a pass example
// has passes and no failure; a fail example has a failure.
func (e ExampleResult) OK() bool {
	if e.Err != nil {
		return false
	}
	var pass, fail int
	for _, r := range e.Got {
		switch r.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		}
	}
	if e.Want == Pass {
		return pass > 0 && fail == 0
	}
	return fail > 0
}

// RunExamples runs each check on the examples beside it (NAME.examples/
// pass*.EXT and fail*.EXT, where EXT is tf for a Terraform module,
// cfn.yaml or cfn.json for a CloudFormation template, config.json for AWS
// Config items, and aws.json for resources as the live inventory reads
// them, for what only the account knows: key ages, root MFA). A check
// without both kinds is a problem.
func RunExamples(fsys fs.FS, checks []*Check) (results []ExampleResult, problems []error) {
	for _, c := range checks {
		dir := strings.TrimSuffix(c.File, path.Ext(c.File)) + ".examples"
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: check %s has no examples (%s)", c.File, c.ID, dir))
			continue
		}
		kinds := map[string]int{}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			want := ""
			switch {
			case strings.HasPrefix(n, "pass"):
				want = Pass
			case strings.HasPrefix(n, "fail"):
				want = Fail
			default:
				continue
			}
			kinds[want]++
			res := ExampleResult{Check: c, File: path.Join(dir, n), Want: want}
			res.Got, res.Err = runExample(fsys, path.Join(dir, n), c)
			results = append(results, res)
		}
		if kinds[Pass] == 0 || kinds[Fail] == 0 {
			problems = append(problems, fmt.Errorf("%s: check %s needs a pass and a fail example", dir, c.ID))
		}
	}
	return results, problems
}

func runExample(fsys fs.FS, file string, c *Check) ([]Result, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	if c.Secret != "" {
		return secretExample(data, file, c)
	}
	if strings.HasSuffix(file, ".aws.json") {
		res, err := resource.DecodeInventory(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return Run([]*Check{c}, res), nil
	}
	if strings.HasSuffix(file, ".config.json") {
		tmp, err := os.CreateTemp("", "parapet-example-*.json")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(data); err != nil {
			return nil, err
		}
		tmp.Close()
		res, err := awsconfig.Load(tmp.Name())
		if err != nil {
			return nil, err
		}
		return Run([]*Check{c}, res), nil
	}
	switch path.Ext(file) {
	case ".tf":
		tmp, err := os.MkdirTemp("", "parapet-example-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(filepath.Join(tmp, "main.tf"), data, 0o644); err != nil {
			return nil, err
		}
		blocks, errs := terraform.Load(tmp, terraform.Options{})
		if len(errs) > 0 {
			return nil, errs[0]
		}
		if c.Path != "" {
			// No principal with a path: the example passes.
			if out := PathResults([]*Check{c}, terraform.Resources(blocks, tmp)); len(out) > 0 {
				return out, nil
			}
			return []Result{{Check: c, CheckID: c.ID, Title: c.Title, Severity: c.Severity, Status: Pass,
				Resource: &resource.Resource{Type: AnyResource, Name: file}, Location: resource.Origin{File: file}}}, nil
		}
		return Run([]*Check{c}, terraform.Resources(blocks, tmp)), nil
	case ".yaml", ".yml", ".json":
		tmp, err := os.CreateTemp("", "parapet-example-*"+path.Ext(file))
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(data); err != nil {
			return nil, err
		}
		tmp.Close()
		res, err := cloudformation.Load(tmp.Name(), filepath.Dir(tmp.Name()))
		if err != nil {
			return nil, err
		}
		return Run([]*Check{c}, res), nil
	}
	return nil, fmt.Errorf("%s: examples are .tf (Terraform), .yaml/.json (CloudFormation), .config.json (AWS Config) or .aws.json (live inventory) files", file)
}

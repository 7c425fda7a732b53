package check

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Every built-in check declares the title of its failure (problem:),
// distinct from its title, which says what passes.
func TestEveryCheckHasAProblemTitle(t *testing.T) {
	n := 0
	err := fs.WalkDir(content.FS, "checks", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" || strings.Contains(p, ".examples/") {
			return err
		}
		data, err := fs.ReadFile(content.FS, p)
		if err != nil {
			return err
		}
		var raw struct {
			Title   string `yaml:"title"`
			Problem string `yaml:"problem"`
		}
		if err := yaml.Unmarshal(data, &raw); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		n++
		switch {
		case raw.Problem == "":
			t.Errorf("%s: no problem title (the failure's title)", p)
		case strings.EqualFold(strings.TrimSpace(raw.Problem), strings.TrimSpace(raw.Title)):
			t.Errorf("%s: problem %q is the title", p, raw.Problem)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 300 {
		t.Errorf("%d checks read, want every built-in one", n)
	}
}

// A failure takes the problem title, a pass the title; a check without a
// problem fails as "Not met: <title>".
func TestResultTitles(t *testing.T) {
	c, err := Parse([]byte("id: T-1\ntitle: 'User has MFA'\nproblem: 'User has no MFA'\nseverity: high\nresource: aws_iam_user\ncondition: 'r.mfa == true'\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bare := mustParse(t, "r.mfa == true")
	on := &resource.Resource{Type: "aws_iam_user", Name: "a", Attrs: map[string]any{"mfa": true}}
	off := &resource.Resource{Type: "aws_iam_user", Name: "b", Attrs: map[string]any{"mfa": false}}
	got := map[string]string{}
	for _, r := range Run([]*Check{c, bare}, []*resource.Resource{on, off}) {
		got[r.CheckID+"/"+r.Resource.Name+"/"+r.Status] += r.Title
	}
	want := map[string]string{"T-1/a/pass": "User has MFA" + "t", "T-1/b/fail": "User has no MFA" + "Not met: t"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: titles %q, want %q", k, got[k], v)
		}
	}
}

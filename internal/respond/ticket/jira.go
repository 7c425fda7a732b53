package ticket

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/parapet-sec/parapet/internal/respond"
)

var (
	// Jira project keys: an upper-case letter, then upper-case letters,
	// digits or underscores.
	projectRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,254}$`)
	// Labels hold no spaces.
	labelRE = regexp.MustCompile(`^[^\s,]{1,255}$`)
	// Issue keys as Jira returns them (they go into paths).
	issueKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*-[0-9]+$`)
)

// Label is the label that marks the Jira issue of a Parapet incident.
func Label(incident string) string { return "parapet-incident-" + incident }

// jiraIssue is what the search answers of an issue.
type jiraIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Status struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
	} `json:"fields"`
}

// recent remembers the issues this process created, by site and project,
// newest last (at most 50, what reconcileIssues takes): Jira's search is
// eventually consistent, and an issue made seconds ago may not be found by
// its label yet unless the search is asked to reconcile it.
type recent struct {
	mu  sync.Mutex
	ids map[string][]int64
}

func (r *recent) add(scope string, id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := append(r.ids[scope], id)
	if len(l) > 50 {
		l = l[len(l)-50:]
	}
	r.ids[scope] = l
}

func (r *recent) list(scope string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids[scope])
}

func jira(client *http.Client) *respond.Action {
	created := &recent{ids: map[string][]int64{}}
	a := &respond.Action{
		Name: "ticket.jira",
		Description: "Open, update or close the Jira Cloud issue of an incident (REST API v3; found again by the label parapet-incident-ID; " +
			"state: open or update creates it or edits it and comments, close moves it to a done status), with a remote link back to Parapet.",
		Required: []string{"site", "email", "api_token", "project", "summary", "incident", "link"},
		Optional: []string{"issue_type", "description", "labels", "priority", "state"},
		Secrets:  []string{"api_token"}, NoLiveState: true,
		Kinds: map[string]respond.Kind{"site": respond.KindURL, "email": respond.KindLine, "project": respond.KindLine, "summary": respond.KindLine,
			"incident": respond.KindFindingID, "link": respond.KindURL, "issue_type": respond.KindLine, "description": respond.KindText,
			"labels": respond.KindLine, "priority": respond.KindLine, "state": respond.KindLine},
		Target: func(p respond.Params) string { return "jira:" + p["project"] + ":" + Label(p["incident"]) },
	}
	a.Plan = func(p respond.Params) []respond.Call {
		lbl := Label(p["incident"])
		calls := []respond.Call{{Service: "jira", Operation: "POST /rest/api/3/search/jql", Input: map[string]any{"jql": jql(p["project"], p["incident"])}}}
		if st, _ := checkState(p["state"]); st == StateClose {
			return append(calls,
				respond.Call{Service: "jira", Operation: "POST /rest/api/3/issue/{key}/comment (when an issue is labelled " + lbl + ")"},
				respond.Call{Service: "jira", Operation: "GET /rest/api/3/issue/{key}/transitions (when it is not done)"},
				respond.Call{Service: "jira", Operation: "POST /rest/api/3/issue/{key}/transitions (to a done status)"})
		}
		return append(calls,
			respond.Call{Service: "jira", Operation: "POST /rest/api/3/issue (when no issue is labelled " + lbl + ")", Input: map[string]any{"project": p["project"], "issuetype": issueType(p), "summary": p["summary"], "labels": labels(p)}},
			respond.Call{Service: "jira", Operation: "PUT /rest/api/3/issue/{key} (when one is)", Input: map[string]any{"summary": p["summary"]}},
			respond.Call{Service: "jira", Operation: "POST /rest/api/3/issue/{key}/comment (when one is)"},
			respond.Call{Service: "jira", Operation: "POST /rest/api/3/issue/{key}/remotelink", Input: map[string]any{"url": p["link"]}})
	}
	a.Check = func(p respond.Params) error {
		if _, err := checkState(p["state"]); err != nil {
			return err
		}
		if !projectRE.MatchString(p["project"]) {
			return fmt.Errorf("project %q is not a Jira project key", p["project"])
		}
		if !incidentRE.MatchString(p["incident"]) {
			return fmt.Errorf("incident %q is not an incident id", p["incident"])
		}
		for _, l := range labels(p) {
			if !labelRE.MatchString(l) {
				return fmt.Errorf("label %q: labels hold no spaces or commas", l)
			}
		}
		if _, err := Base(p["site"]); err != nil {
			return fmt.Errorf("site: %w", err)
		}
		return nil
	}
	a.Execute = func(ctx context.Context, p respond.Params) (o respond.Outcome, err error) {
		// Checked again: Execute may be called without a plan.
		if err := a.Check(p); err != nil {
			return o, err
		}
		state, _ := checkState(p["state"])
		base, _ := Base(p["site"])
		tok, err := respond.ResolveSecret(p["api_token"])
		if err != nil {
			return o, fmt.Errorf("api_token: %w", err)
		}
		c := &api{client: client, service: "jira", base: base, auth: basic(p["email"], tok), secret: tok}
		defer func() { o.Calls = c.calls }()

		var found struct {
			Issues []jiraIssue `json:"issues"`
		}
		scope := base.String() + " " + p["project"]
		search := map[string]any{"jql": jql(p["project"], p["incident"]), "fields": []string{"status", "summary"}, "maxResults": 1}
		if ids := created.list(scope); len(ids) > 0 {
			search["reconcileIssues"] = ids
		}
		if err := c.do(ctx, http.MethodPost, "/rest/api/3/search/jql", nil, search, &found); err != nil {
			return o, err
		}
		var issue *jiraIssue
		if len(found.Issues) > 0 {
			issue = &found.Issues[0]
			if !issueKeyRE.MatchString(issue.Key) {
				return o, fmt.Errorf("jira: the search answered an issue key %q that is not one", issue.Key)
			}
			o.Before = map[string]any{"key": issue.Key, "status": issue.Fields.Status.Name}
		}
		browse := func(key string) string { return base.String() + "/browse/" + key }
		issuePath := func(key, rest string) string { return "/rest/api/3/issue/" + key + rest }

		if state == StateClose {
			if issue == nil {
				o.Summary = "no Jira issue is labelled " + Label(p["incident"]) + ": nothing to close"
				return o, nil
			}
			if issue.Fields.Status.StatusCategory.Key == "done" {
				o.Summary = fmt.Sprintf("Jira issue %s is already done (%s): %s", issue.Key, issue.Fields.Status.Name, browse(issue.Key))
				o.After = map[string]any{"key": issue.Key, "url": browse(issue.Key), "status": issue.Fields.Status.Name}
				return o, nil
			}
			if err := c.do(ctx, http.MethodPost, issuePath(issue.Key, "/comment"), nil,
				map[string]any{"body": adf(withLink(orDefault(p["description"], "Parapet closed this incident."), p["incident"], p["link"]))}, nil); err != nil {
				return o, err
			}
			var tr struct {
				Transitions []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
					To   struct {
						Name           string `json:"name"`
						StatusCategory struct {
							Key string `json:"key"`
						} `json:"statusCategory"`
					} `json:"to"`
				} `json:"transitions"`
			}
			if err := c.do(ctx, http.MethodGet, issuePath(issue.Key, "/transitions"), nil, nil, &tr); err != nil {
				return o, err
			}
			id, to := "", ""
			for _, t := range tr.Transitions {
				if t.To.StatusCategory.Key == "done" {
					id, to = t.ID, t.To.Name
					break
				}
			}
			if id == "" {
				return o, fmt.Errorf("jira: issue %s (%s) has no transition to a done status", issue.Key, issue.Fields.Status.Name)
			}
			if err := c.do(ctx, http.MethodPost, issuePath(issue.Key, "/transitions"), nil, map[string]any{"transition": map[string]any{"id": id}}, nil); err != nil {
				return o, err
			}
			o.Summary = fmt.Sprintf("Jira issue %s closed (%s): %s", issue.Key, to, browse(issue.Key))
			o.After = map[string]any{"key": issue.Key, "url": browse(issue.Key), "status": to}
			return o, nil
		}

		key, verb := "", ""
		if issue == nil {
			fields := map[string]any{
				"project":     map[string]any{"key": p["project"]},
				"issuetype":   map[string]any{"name": issueType(p)},
				"summary":     p["summary"],
				"description": adf(withLink(p["description"], p["incident"], p["link"])),
				"labels":      labels(p),
			}
			if p["priority"] != "" {
				fields["priority"] = map[string]any{"name": p["priority"]}
			}
			var made struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			}
			if err := c.do(ctx, http.MethodPost, "/rest/api/3/issue", nil, map[string]any{"fields": fields}, &made); err != nil {
				return o, err
			}
			if !issueKeyRE.MatchString(made.Key) {
				return o, fmt.Errorf("jira: the issue was created but the answer holds no issue key")
			}
			if id, err := strconv.ParseInt(made.ID, 10, 64); err == nil {
				created.add(scope, id)
			}
			key, verb = made.Key, "created"
		} else {
			key, verb = issue.Key, "updated"
			fields := map[string]any{"summary": p["summary"]}
			if p["priority"] != "" {
				fields["priority"] = map[string]any{"name": p["priority"]}
			}
			// Labels are added, never replaced: people label issues too.
			var add []any
			for _, l := range labels(p) {
				add = append(add, map[string]any{"add": l})
			}
			if err := c.do(ctx, http.MethodPut, issuePath(key, ""), nil, map[string]any{"fields": fields, "update": map[string]any{"labels": add}}, nil); err != nil {
				return o, err
			}
			if err := c.do(ctx, http.MethodPost, issuePath(key, "/comment"), nil,
				map[string]any{"body": adf(withLink(orDefault(p["description"], p["summary"]), p["incident"], p["link"]))}, nil); err != nil {
				return o, err
			}
		}
		// The same globalId each time: Jira updates the link rather than
		// adding a second one.
		if err := c.do(ctx, http.MethodPost, issuePath(key, "/remotelink"), nil, map[string]any{
			"globalId":     "parapet-incident=" + p["incident"],
			"relationship": "Parapet incident",
			"object":       map[string]any{"url": p["link"], "title": "Parapet incident " + p["incident"]},
		}, nil); err != nil {
			return o, err
		}
		o.Summary = fmt.Sprintf("Jira issue %s %s: %s", key, verb, browse(key))
		o.After = map[string]any{"key": key, "url": browse(key)}
		return o, nil
	}
	return a
}

// jql finds the incident's issue in the project.
func jql(project, incident string) string {
	return fmt.Sprintf(`project = "%s" AND labels = "%s"`, project, Label(incident))
}

func issueType(p respond.Params) string { return orDefault(p["issue_type"], "Task") }

// labels are the step's labels (comma-separated) and the incident's.
func labels(p respond.Params) []string {
	out := []string{"parapet", Label(p["incident"])}
	for _, l := range strings.Split(p["labels"], ",") {
		if l = strings.TrimSpace(l); l != "" && l != out[0] && l != out[1] {
			out = append(out, l)
		}
	}
	return out
}

// adf is text as an Atlassian Document Format document: a paragraph per
// paragraph of text, line breaks as hardBreak nodes.
func adf(text string) map[string]any {
	var paras []any
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		var content []any
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				content = append(content, map[string]any{"type": "hardBreak"})
			}
			if line != "" {
				content = append(content, map[string]any{"type": "text", "text": line})
			}
		}
		paras = append(paras, map[string]any{"type": "paragraph", "content": content})
	}
	if paras == nil {
		paras = []any{map[string]any{"type": "paragraph", "content": []any{}}}
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

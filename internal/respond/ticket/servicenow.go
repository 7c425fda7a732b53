package ticket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/parapet-sec/parapet/internal/respond"
)

var (
	// Table names: lower-case letters, digits and underscores.
	tableRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,79}$`)
	// sys_id values: 32 hex digits (they go into paths).
	sysIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// ServiceNow incident states: 6 is Resolved, 7 Closed.
const (
	snResolved = "6"
	snClosed   = "7"
)

type snRecord struct {
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	State  string `json:"state"`
}

func serviceNow(client *http.Client) *respond.Action {
	a := &respond.Action{
		Name: "ticket.servicenow",
		Description: "Open, update or close the ServiceNow record of an incident (Table API; found again by correlation_id = the incident id; " +
			"state: open or update creates it or updates it with a work note, close sets state 6, Resolved, with close_code and close_notes), with the link back to Parapet. " +
			"Auth: user and password, or a bearer token.",
		Required: []string{"instance", "short_description", "incident", "link"},
		Optional: []string{"user", "password", "token", "table", "description", "urgency", "impact", "state", "close_code", "close_notes"},
		Secrets:  []string{"password", "token"}, NoLiveState: true,
		Kinds: map[string]respond.Kind{"instance": respond.KindURL, "short_description": respond.KindLine, "incident": respond.KindFindingID,
			"link": respond.KindURL, "user": respond.KindLine, "table": respond.KindLine, "description": respond.KindText,
			"urgency": respond.KindLine, "impact": respond.KindLine, "state": respond.KindLine, "close_code": respond.KindLine, "close_notes": respond.KindText},
		Target: func(p respond.Params) string { return "servicenow:" + table(p) + ":" + p["incident"] },
	}
	a.Plan = func(p respond.Params) []respond.Call {
		path := "/api/now/table/" + table(p)
		calls := []respond.Call{{Service: "servicenow", Operation: "GET " + path, Input: map[string]any{"query": findQuery(p["incident"]).Encode()}}}
		if st, _ := checkState(p["state"]); st == StateClose {
			return append(calls, respond.Call{Service: "servicenow", Operation: "PATCH " + path + "/{sys_id} (when a record has correlation_id " + p["incident"] + ")",
				Input: map[string]any{"state": snResolved, "close_code": closeCode(p)}})
		}
		return append(calls,
			respond.Call{Service: "servicenow", Operation: "POST " + path + " (when no record has correlation_id " + p["incident"] + ")",
				Input: map[string]any{"short_description": p["short_description"], "correlation_id": p["incident"]}},
			respond.Call{Service: "servicenow", Operation: "PATCH " + path + "/{sys_id} (when one has)", Input: map[string]any{"short_description": p["short_description"]}})
	}
	a.Check = func(p respond.Params) error {
		if _, err := checkState(p["state"]); err != nil {
			return err
		}
		if !tableRE.MatchString(table(p)) {
			return fmt.Errorf("table %q is not a ServiceNow table name", p["table"])
		}
		if !incidentRE.MatchString(p["incident"]) {
			return fmt.Errorf("incident %q is not an incident id", p["incident"])
		}
		for _, k := range []string{"urgency", "impact"} {
			if v := p[k]; v != "" && v != "1" && v != "2" && v != "3" {
				return fmt.Errorf("%s %q: want 1 (high), 2 (medium) or 3 (low)", k, v)
			}
		}
		if _, err := Base(p["instance"]); err != nil {
			return fmt.Errorf("instance: %w", err)
		}
		if p["token"] == "" && p["user"] == "" {
			return errors.New("give user and password, or token")
		}
		return nil
	}
	a.Execute = func(ctx context.Context, p respond.Params) (o respond.Outcome, err error) {
		// Checked again: Execute may be called without a plan.
		if err := a.Check(p); err != nil {
			return o, err
		}
		state, _ := checkState(p["state"])
		base, _ := Base(p["instance"])
		var auth, secret string
		switch {
		case p["token"] != "":
			tok, err := respond.ResolveSecret(p["token"])
			if err != nil {
				return o, fmt.Errorf("token: %w", err)
			}
			auth, secret = "Bearer "+tok, tok
		case p["user"] != "":
			pw, err := respond.ResolveSecret(p["password"])
			if err != nil {
				return o, fmt.Errorf("password: %w", err)
			}
			auth, secret = basic(p["user"], pw), pw
		default:
			return o, errors.New("give user and password, or token")
		}
		c := &api{client: client, service: "servicenow", base: base, auth: auth, secret: secret}
		defer func() { o.Calls = c.calls }()
		path := "/api/now/table/" + table(p)
		record := func(sysID string) string { return base.String() + "/" + table(p) + ".do?sys_id=" + sysID }

		var found struct {
			Result []snRecord `json:"result"`
		}
		if err := c.do(ctx, http.MethodGet, path, findQuery(p["incident"]), nil, &found); err != nil {
			return o, err
		}
		var rec *snRecord
		if len(found.Result) > 0 {
			rec = &found.Result[0]
			if !sysIDRE.MatchString(rec.SysID) {
				return o, fmt.Errorf("servicenow: the query answered a sys_id %q that is not one", rec.SysID)
			}
			o.Before = map[string]any{"number": rec.Number, "sys_id": rec.SysID, "state": rec.State}
		}
		fields := func(into map[string]any) map[string]any {
			for _, k := range []string{"urgency", "impact"} {
				if p[k] != "" {
					into[k] = p[k]
				}
			}
			return into
		}
		var out struct {
			Result snRecord `json:"result"`
		}
		switch {
		case state == StateClose && rec == nil:
			o.Summary = "no ServiceNow record has correlation_id " + p["incident"] + ": nothing to close"
			return o, nil
		case state == StateClose && (rec.State == snResolved || rec.State == snClosed):
			o.Summary = fmt.Sprintf("ServiceNow %s is already resolved: %s", rec.Number, record(rec.SysID))
			o.After = map[string]any{"number": rec.Number, "url": record(rec.SysID), "state": rec.State}
			return o, nil
		case state == StateClose:
			body := map[string]any{"state": snResolved, "close_code": closeCode(p),
				"close_notes": orDefault(p["close_notes"], "Resolved by Parapet."),
				"work_notes":  withLink("Parapet closed this incident.", p["incident"], p["link"])}
			if err := c.do(ctx, http.MethodPatch, path+"/"+rec.SysID, nil, body, &out); err != nil {
				return o, err
			}
			o.Summary = fmt.Sprintf("ServiceNow %s resolved: %s", rec.Number, record(rec.SysID))
			o.After = map[string]any{"number": rec.Number, "url": record(rec.SysID), "state": snResolved}
			return o, nil
		case rec == nil:
			body := fields(map[string]any{"short_description": p["short_description"],
				"description":         withLink(p["description"], p["incident"], p["link"]),
				"correlation_id":      p["incident"],
				"correlation_display": "Parapet",
				"work_notes":          withLink("Opened by Parapet.", p["incident"], p["link"])})
			if err := c.do(ctx, http.MethodPost, path, nil, body, &out); err != nil {
				return o, err
			}
			if !sysIDRE.MatchString(out.Result.SysID) {
				return o, errors.New("servicenow: the record was created but the answer holds no sys_id")
			}
			o.Summary = fmt.Sprintf("ServiceNow %s created: %s", out.Result.Number, record(out.Result.SysID))
			o.After = map[string]any{"number": out.Result.Number, "sys_id": out.Result.SysID, "url": record(out.Result.SysID)}
			return o, nil
		default:
			body := fields(map[string]any{"short_description": p["short_description"],
				"work_notes": withLink(orDefault(p["description"], p["short_description"]), p["incident"], p["link"])})
			if err := c.do(ctx, http.MethodPatch, path+"/"+rec.SysID, nil, body, &out); err != nil {
				return o, err
			}
			o.Summary = fmt.Sprintf("ServiceNow %s updated: %s", rec.Number, record(rec.SysID))
			o.After = map[string]any{"number": rec.Number, "sys_id": rec.SysID, "url": record(rec.SysID)}
			return o, nil
		}
	}
	return a
}

func table(p respond.Params) string { return orDefault(p["table"], "incident") }

func closeCode(p respond.Params) string { return orDefault(p["close_code"], "Solution provided") }

// findQuery finds the incident's record (the id holds no ^ or =: it cannot
// add a condition).
func findQuery(incident string) url.Values {
	return url.Values{"sysparm_query": {"correlation_id=" + incident}, "sysparm_limit": {"1"}, "sysparm_fields": {"sys_id,number,state"}}
}

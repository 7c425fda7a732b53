// Package notify holds the notification actions: Slack incoming webhooks,
// PagerDuty Events API v2, Microsoft Teams workflow webhooks (Adaptive
// Card), generic webhooks signed with HMAC-SHA256, and email over SMTP.
// Secrets (webhook URLs, routing keys, signing keys, passwords) come only
// from env: or file: references and are never part of an outcome.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/respond"
)

// Register adds the notification actions.
func Register(reg *respond.Registry, client *http.Client) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	post := func(ctx context.Context, url string, body []byte, headers map[string]string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("bad endpoint (not shown: it is a secret)")
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			// The error names the URL, which is a secret: say less.
			return 0, fmt.Errorf("post failed: %s", errorKind(err))
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode >= 300 {
			return resp.StatusCode, fmt.Errorf("the receiver answered HTTP %d", resp.StatusCode)
		}
		return resp.StatusCode, nil
	}
	noTarget := func(respond.Params) string { return "" }

	slack := &respond.Action{
		Name: "notify.slack", Description: "Post a message to a Slack incoming webhook.",
		Required: []string{"webhook", "text"}, Secrets: []string{"webhook"}, Target: noTarget, NoLiveState: true,
		Kinds: map[string]respond.Kind{"text": respond.KindSlackText},
		Plan: func(p respond.Params) []respond.Call {
			return []respond.Call{{Service: "slack", Operation: "POST incoming webhook", Input: map[string]any{"text": p["text"]}}}
		},
	}
	slack.Execute = func(ctx context.Context, p respond.Params) (respond.Outcome, error) {
		o := respond.Outcome{Calls: slack.Plan(p)}
		url, err := respond.ResolveSecret(p["webhook"])
		if err != nil {
			return o, fmt.Errorf("webhook: %w", err)
		}
		body, _ := json.Marshal(map[string]any{"text": p["text"], "blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": p["text"]}}}})
		code, err := post(ctx, url, body, nil)
		o.Summary = fmt.Sprintf("Slack message posted (HTTP %d)", code)
		return o, err
	}

	pd := &respond.Action{
		Name: "notify.pagerduty", Description: "Trigger a PagerDuty incident through the Events API v2 (deduplicated by the finding).",
		Required: []string{"routing_key", "summary"}, Optional: []string{"severity", "source", "dedup_key", "endpoint"}, Secrets: []string{"routing_key"}, Target: noTarget, NoLiveState: true,
		Kinds: map[string]respond.Kind{"summary": respond.KindLine, "source": respond.KindLine, "dedup_key": respond.KindLine, "severity": respond.KindLine, "endpoint": respond.KindURL},
		Plan: func(p respond.Params) []respond.Call {
			return []respond.Call{{Service: "pagerduty", Operation: "POST /v2/enqueue", Input: map[string]any{"event_action": "trigger", "summary": p["summary"], "severity": sev(p["severity"]), "dedup_key": p["dedup_key"]}}}
		},
	}
	pd.Execute = func(ctx context.Context, p respond.Params) (respond.Outcome, error) {
		o := respond.Outcome{Calls: pd.Plan(p)}
		key, err := respond.ResolveSecret(p["routing_key"])
		if err != nil {
			return o, fmt.Errorf("routing_key: %w", err)
		}
		endpoint := p["endpoint"]
		if endpoint == "" {
			endpoint = "https://events.pagerduty.com/v2/enqueue"
		}
		source := p["source"]
		if source == "" {
			source = "parapet"
		}
		body, _ := json.Marshal(map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": p["dedup_key"],
			"payload": map[string]any{"summary": p["summary"], "source": source, "severity": sev(p["severity"])}})
		code, err := post(ctx, endpoint, body, nil)
		o.Summary = fmt.Sprintf("PagerDuty event sent (HTTP %d)", code)
		return o, err
	}

	teams := &respond.Action{
		Name: "notify.teams", Description: "Post an Adaptive Card to a Microsoft Teams workflow webhook.",
		Required: []string{"webhook", "title", "text"}, Secrets: []string{"webhook"}, Target: noTarget, NoLiveState: true,
		Kinds: map[string]respond.Kind{"title": respond.KindMarkdown, "text": respond.KindMarkdown},
		Plan: func(p respond.Params) []respond.Call {
			return []respond.Call{{Service: "teams", Operation: "POST workflow webhook", Input: map[string]any{"title": p["title"], "text": p["text"]}}}
		},
	}
	teams.Execute = func(ctx context.Context, p respond.Params) (respond.Outcome, error) {
		o := respond.Outcome{Calls: teams.Plan(p)}
		url, err := respond.ResolveSecret(p["webhook"])
		if err != nil {
			return o, fmt.Errorf("webhook: %w", err)
		}
		card := map[string]any{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": "1.4",
			"body": []any{
				map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": p["title"], "wrap": true},
				map[string]any{"type": "TextBlock", "text": p["text"], "wrap": true},
			}}
		body, _ := json.Marshal(map[string]any{"type": "message", "attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})
		code, err := post(ctx, url, body, nil)
		o.Summary = fmt.Sprintf("Teams card posted (HTTP %d)", code)
		return o, err
	}

	hook := &respond.Action{
		Name: "notify.webhook", Description: "POST a JSON message to any URL, signed with HMAC-SHA256 (X-Parapet-Signature: sha256=HEX over \"TIMESTAMP.BODY\", X-Parapet-Timestamp).",
		Required: []string{"url", "secret", "message"}, Optional: []string{"finding_id"}, Secrets: []string{"url", "secret"}, Target: noTarget, NoLiveState: true,
		Kinds: map[string]respond.Kind{"message": respond.KindText, "finding_id": respond.KindFindingID},
		Plan: func(p respond.Params) []respond.Call {
			return []respond.Call{{Service: "webhook", Operation: "POST (HMAC-SHA256 signed)", Input: map[string]any{"message": p["message"], "finding_id": p["finding_id"]}}}
		},
	}
	hook.Execute = func(ctx context.Context, p respond.Params) (respond.Outcome, error) {
		o := respond.Outcome{Calls: hook.Plan(p)}
		url, err := respond.ResolveSecret(p["url"])
		if err != nil {
			return o, fmt.Errorf("url: %w", err)
		}
		secret, err := respond.ResolveSecret(p["secret"])
		if err != nil {
			return o, fmt.Errorf("secret: %w", err)
		}
		body, _ := json.Marshal(map[string]any{"source": "parapet", "message": p["message"], "finding_id": p["finding_id"], "time": time.Now().UTC().Format(time.RFC3339)})
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		code, err := post(ctx, url, body, map[string]string{"X-Parapet-Timestamp": ts, "X-Parapet-Signature": "sha256=" + Sign(secret, ts, body)})
		o.Summary = fmt.Sprintf("webhook delivered (HTTP %d)", code)
		return o, err
	}

	email := &respond.Action{
		Name: "notify.email", Description: "Send an email over SMTP (STARTTLS when the server offers it; PLAIN auth when a username is given).",
		Required: []string{"smtp", "from", "to", "subject", "body"}, Optional: []string{"username", "password"}, Secrets: []string{"password"}, Target: noTarget, NoLiveState: true,
		Kinds: map[string]respond.Kind{"smtp": respond.KindHostPort, "from": respond.KindEmails, "to": respond.KindEmails, "subject": respond.KindLine, "body": respond.KindText, "username": respond.KindLine},
		Plan: func(p respond.Params) []respond.Call {
			return []respond.Call{{Service: "smtp", Operation: "SEND", Input: map[string]any{"server": p["smtp"], "from": p["from"], "to": p["to"], "subject": p["subject"]}}}
		},
	}
	email.Execute = func(ctx context.Context, p respond.Params) (respond.Outcome, error) {
		o := respond.Outcome{Calls: email.Plan(p)}
		var auth smtp.Auth
		if p["username"] != "" {
			pw, err := respond.ResolveSecret(p["password"])
			if err != nil {
				return o, fmt.Errorf("password: %w", err)
			}
			host, _, _ := net.SplitHostPort(p["smtp"])
			auth = smtp.PlainAuth("", p["username"], pw, host)
		}
		to := strings.Split(p["to"], ",")
		for i := range to {
			to[i] = strings.TrimSpace(to[i])
		}
		msg := "From: " + p["from"] + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: " + oneLine(p["subject"]) +
			"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(p["body"], "\n", "\r\n") + "\r\n"
		done := make(chan error, 1)
		go func() { done <- smtp.SendMail(p["smtp"], auth, p["from"], to, []byte(msg)) }()
		select {
		case err := <-done:
			if err != nil {
				return o, fmt.Errorf("smtp: %s", errorKind(err))
			}
		case <-ctx.Done():
			return o, ctx.Err()
		}
		o.Summary = fmt.Sprintf("email sent to %d recipients", len(to))
		return o, nil
	}
	reg.Add(slack, pd, teams, hook, email)
}

// Sign is the webhook signature: HMAC-SHA256 over "TIMESTAMP.BODY".
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func sev(s string) string {
	switch s {
	case "critical", "error", "warning", "info":
		return s
	case "high":
		return "error"
	case "medium", "low":
		return "warning"
	}
	return "info"
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// errorKind describes a transport error without the URL in it.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case asNetErr(err, &ne) && ne.Timeout():
		return "timed out"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func asNetErr(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

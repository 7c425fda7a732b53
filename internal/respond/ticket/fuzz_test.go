package ticket

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FuzzAnswers feeds whatever a receiver might answer (any status, any body)
// to both actions: no answer crashes them, and no error or outcome they
// make of it holds the credentials, even when the answer echoes them.
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"issues":[{"key":"SEC-1","fields":{"status":{"name":"Done","statusCategory":{"key":"done"}}}}]}`))
	f.Add(201, []byte(`{"id":"10000","key":"SEC-1"}`))
	f.Add(200, []byte(`{"transitions":[{"id":"31","to":{"statusCategory":{"key":"done"}}}]}`))
	f.Add(200, []byte(`{"result":[{"sys_id":"0123456789abcdef0123456789abcdef","number":"INC0010001","state":"2"}]}`))
	f.Add(400, []byte(`{"errorMessages":["bad `+jiraToken+`"],"errors":{"summary":"required"}}`))
	f.Add(401, []byte(`{"error":{"message":"User Not Authenticated","detail":"`+snPassword+`"}}`))
	f.Add(200, []byte(`{"issues":[{"key":"../../x-1"}]}`))
	f.Add(200, []byte(`null`))
	var mu sync.Mutex
	var status int
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	f.Setenv("JIRA_TOKEN", jiraToken)
	f.Setenv("SN_PASSWORD", snPassword)
	reg := registry()
	f.Fuzz(func(t *testing.T, code int, answer []byte) {
		if code < 200 || code > 599 {
			code = 200 + (code%400+400)%400
		}
		mu.Lock()
		status, body = code, answer
		mu.Unlock()
		for _, st := range []string{"open", "close"} {
			jp := jiraParams(srv.URL)
			jp["state"] = st
			sp := snParams(srv.URL)
			sp["state"] = st
			for name, p := range map[string]map[string]string{"ticket.jira": jp, "ticket.servicenow": sp} {
				o, err := reg.Get(name).Execute(context.Background(), p)
				// Each action's own secret: the answers echo both.
				secret := jiraToken
				if name == "ticket.servicenow" {
					secret = snPassword
				}
				if b, _ := json.Marshal(o); strings.Contains(string(b), secret) {
					t.Errorf("%s outcome holds its secret: %s", name, b)
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("%s error holds its secret: %v", name, err)
				}
				for _, c := range o.Calls {
					if strings.Contains(c.Operation, "..") {
						t.Errorf("%s called %s: an answered key went into a path unchecked", name, c.Operation)
					}
				}
			}
		}
	})
}

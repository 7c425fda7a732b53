package ticket_test

import (
	"fmt"

	"github.com/parapet-sec/parapet/internal/respond"
	"github.com/parapet-sec/parapet/internal/respond/ticket"
)

// A dry run of ticket.jira: the calls it would make for an incident.
func ExampleRegister() {
	reg := respond.NewRegistry()
	ticket.Register(reg, nil)
	a := reg.Get("ticket.jira")
	for _, c := range a.Plan(respond.Params{"site": "https://acme.atlassian.net", "email": "bot@acme.example", "api_token": "env:JIRA_TOKEN",
		"project": "SEC", "summary": "Public bucket", "incident": "inc-0a1b2c3d4e5f6071", "link": "https://parapet.acme.example/#/incident/inc-0a1b2c3d4e5f6071"}) {
		fmt.Println(c.Operation)
	}
	// Output:
	// POST /rest/api/3/search/jql
	// POST /rest/api/3/issue (when no issue is labelled parapet-incident-inc-0a1b2c3d4e5f6071)
	// PUT /rest/api/3/issue/{key} (when one is)
	// POST /rest/api/3/issue/{key}/comment (when one is)
	// POST /rest/api/3/issue/{key}/remotelink
}

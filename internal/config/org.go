package config

import (
	"strings"
	"time"
)

// Organization is the AWS Organization Parapet covers: its accounts
// (discovered through Organizations, or Accounts where that cannot be
// read), which of them, and the role assumed in each (internal/org).
type Organization struct {
	Role string `yaml:"role" json:"role" doc:"the role name assumed in every member account (or a role ARN with {account}); empty: no organization"`
	// ResponderRole is assumed by response actions (default: Role).
	ResponderRole string       `yaml:"responder_role" json:"responder_role" doc:"the role response actions assume in a finding's account (default: role); parapet deploy roles makes ParapetResponder"`
	ExternalID    string       `yaml:"external_id" json:"external_id" doc:"the ExternalId the roles' trust policies require"`
	Accounts      []OrgAccount `yaml:"accounts" json:"accounts" doc:"the accounts when Organizations cannot be read (not the management or a delegated-administrator account)"`
	Include       OrgFilter    `yaml:"include" json:"include" doc:"only accounts matching every non-empty list (default: all active accounts)"`
	Exclude       OrgFilter    `yaml:"exclude" json:"exclude" doc:"never accounts matching any entry"`
	Regions       []string     `yaml:"regions" json:"regions" doc:"regions scanned in every account (default: posture.aws.regions, else the configured one)"`
	Refresh       Duration     `yaml:"refresh" json:"refresh" doc:"how often the account list is read again (default 1h)"`
	Concurrency   int          `yaml:"concurrency" json:"concurrency" doc:"accounts scanned at once (default 4)"`
}

// OrgAccount is one statically listed account.
type OrgAccount struct {
	ID   string `yaml:"id" json:"id" doc:"the 12-digit account id"`
	Name string `yaml:"name" json:"name"`
	OU   string `yaml:"ou" json:"ou" doc:"its OU path, e.g. Root/Workloads/Sandbox"`
}

// OrgFilter selects accounts by id, OU path (or bare OU name) and tag.
type OrgFilter struct {
	Accounts []string `yaml:"accounts" json:"accounts" doc:"account ids"`
	OUs      []string `yaml:"ous" json:"ous" doc:"OU paths (Root/Workloads/Sandbox, sub-OUs included) or OU names (Sandbox)"`
	Tags     []string `yaml:"tags" json:"tags" doc:"account tags as key=value (key=* or key: any value)"`
}

// checkFilter reports a filter's bad account ids and tags.
func checkFilter(path string, f OrgFilter, bad func(path, format string, args ...any)) {
	for _, id := range f.Accounts {
		if !accountID.MatchString(id) {
			bad(path+".accounts", "%q is not a 12-digit account id", id)
		}
	}
	for _, t := range f.Tags {
		if k, _, _ := strings.Cut(t, "="); strings.TrimSpace(k) == "" {
			bad(path+".tags", "%q: want key=value", t)
		}
	}
}

// Enabled says whether an organization is configured.
func (o Organization) Enabled() bool { return o.Role != "" }

func (o *Organization) fill() {
	if o.Refresh == 0 {
		o.Refresh = Duration(time.Hour)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
}

func (o *Organization) check(bad func(path, format string, args ...any)) {
	if !o.Enabled() && (len(o.Accounts) > 0 || len(o.Include.Accounts)+len(o.Include.OUs)+len(o.Include.Tags) > 0) {
		bad("organization.role", "accounts are listed but no role to assume in them")
	}
	if strings.HasPrefix(o.Role, "arn:") && !strings.Contains(o.Role, "{account}") {
		bad("organization.role", "a role ARN must name the account as {account}")
	}
	if o.ExternalID != "" && (len(o.ExternalID) < 2 || len(o.ExternalID) > 1224) {
		bad("organization.external_id", "want 2 to 1224 characters")
	}
	for i, a := range o.Accounts {
		if !accountID.MatchString(a.ID) {
			bad("organization.accounts", "entry %d: %q is not a 12-digit account id", i+1, a.ID)
		}
	}
	checkFilter("organization.include", o.Include, bad)
	checkFilter("organization.exclude", o.Exclude, bad)
	if o.Concurrency < 0 {
		bad("organization.concurrency", "want a positive number")
	}
}

package enrich

import (
	"encoding/json"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/parapet-sec/parapet/internal/event"
	"github.com/parapet-sec/parapet/internal/iampolicy"
)

// Accounts is the organization's set of AWS accounts: what a share or a
// grant may name without being "foreign". Configured accounts and
// organization ids take precedence; without them, every account seen as
// the one a record was delivered for (recipientAccountId) is known.
// Safe for concurrent use.
type Accounts struct {
	static map[string]bool
	orgs   []string
	mu     sync.RWMutex
	seen   map[string]bool
}

// NewAccounts returns the known set: the accounts listed, the
// organizations named (o-…; a grant conditioned on one stays inside).
// With no account listed, the set learns from the records.
func NewAccounts(accounts, orgs []string) *Accounts {
	a := &Accounts{static: map[string]bool{}, orgs: orgs, seen: map[string]bool{}}
	for _, x := range accounts {
		if x = strings.TrimSpace(x); x != "" {
			a.static[x] = true
		}
	}
	return a
}

// Known says whether an account is the organization's.
func (a *Accounts) Known(account string) bool {
	if a.static[account] {
		return true
	}
	if len(a.static) > 0 {
		return false
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.seen[account]
}

func (a *Accounts) learn(account string) {
	if account == "" || len(a.static) > 0 {
		return
	}
	a.mu.RLock()
	ok := a.seen[account]
	a.mu.RUnlock()
	if ok {
		return
	}
	a.mu.Lock()
	if len(a.seen) < 100_000 { // bounded: a forged flood of accounts cannot grow it without end
		a.seen[account] = true
	}
	a.mu.Unlock()
}

// Requests reads what a CloudTrail request does beyond its name: the
// exposure of a policy it sets (through the one IAM policy evaluator),
// whom a share grants to, how far an ingress rule opens, how many items a
// bulk call names. Rules read the result as parapet.* fields.
type Requests struct{ Accounts *Accounts }

// NewRequests reads requests against the known accounts (nil: learned).
func NewRequests(accounts *Accounts) *Requests {
	if accounts == nil {
		accounts = NewAccounts(nil, nil)
	}
	return &Requests{Accounts: accounts}
}

// policyParams: where each call carries the policy document it sets
// (the first path present wins).
var policyParams = map[string][]string{
	"PutBucketPolicy":                     {"requestParameters.bucketPolicy"},
	"PutAccessPointPolicy":                {"requestParameters.PutAccessPointPolicyRequest.Policy", "requestParameters.policy"},
	"PutAccessPointPolicyForObjectLambda": {"requestParameters.PutAccessPointPolicyForObjectLambdaRequest.Policy", "requestParameters.policy"},
	"PutMultiRegionAccessPointPolicy":     {"requestParameters.PutMultiRegionAccessPointPolicyRequest.Details.Policy"},
	"CreatePolicy":                        {"requestParameters.policyDocument"},
	"CreatePolicyVersion":                 {"requestParameters.policyDocument"},
	"PutUserPolicy":                       {"requestParameters.policyDocument"},
	"PutRolePolicy":                       {"requestParameters.policyDocument"},
	"PutGroupPolicy":                      {"requestParameters.policyDocument"},
	"UpdateAssumeRolePolicy":              {"requestParameters.policyDocument"},
	"CreateRole":                          {"requestParameters.assumeRolePolicyDocument"},
	"PutKeyPolicy":                        {"requestParameters.policy"},
	"CreateKey":                           {"requestParameters.policy"},
	"PutResourcePolicy":                   {"requestParameters.resourcePolicy", "requestParameters.policyDocument", "requestParameters.policyInJson", "requestParameters.policy"},
	"SetRepositoryPolicy":                 {"requestParameters.policyText"},
	"PutRegistryPolicy":                   {"requestParameters.policyText"},
	"SetQueueAttributes":                  {"requestParameters.attributes.Policy"},
	"CreateQueue":                         {"requestParameters.attributes.Policy"},
	"CreateTopic":                         {"requestParameters.attributes.Policy"},
	"CreateDomain":                        {"requestParameters.accessPolicies"},
	"UpdateDomainConfig":                  {"requestParameters.accessPolicies"},
	"CreateElasticsearchDomain":           {"requestParameters.accessPolicies"},
	"UpdateElasticsearchDomainConfig":     {"requestParameters.accessPolicies"},
	"SetVaultAccessPolicy":                {"requestParameters.policy.policy"},
	"PutBackupVaultAccessPolicy":          {"requestParameters.policy"},
	"PutFileSystemPolicy":                 {"requestParameters.policy"},
	"PutDestinationPolicy":                {"requestParameters.accessPolicy"},
	"PutRepositoryPermissionsPolicy":      {"requestParameters.policyDocument"},
	"PutDomainPermissionsPolicy":          {"requestParameters.policyDocument"},
	"PutPermissionPolicy":                 {"requestParameters.policy"},
}

// sensitivePorts are the ports whose exposure to the internet is a
// finding of its own: remote administration and data stores.
var sensitivePorts = []int{20, 21, 22, 23, 135, 137, 138, 139, 445, 1433, 1434, 1521, 2375, 2376, 2379, 3306, 3389, 5432, 5439, 5601, 5900, 5985, 5986, 6379, 7001, 8020, 9042, 9200, 9300, 11211, 27017, 27018, 50070}

// Enrich reads the request of a CloudTrail event.
func (r *Requests) Enrich(ev *event.Event) {
	if ev.Source != event.SourceCloudTrail {
		return
	}
	r.Accounts.learn(ev.Cloud.Account)
	op := operation(ev)
	var f event.Facts
	set := false
	if paths, ok := policyParams[op]; ok {
		set = r.policy(ev, paths, &f) || set
	}
	if op == "SetTopicAttributes" {
		if v, ok := ev.Lookup("requestParameters.attributeName"); ok && v.String() == "Policy" {
			set = r.policy(ev, []string{"requestParameters.attributeValue"}, &f) || set
		}
	}
	switch op {
	case "ModifyImageAttribute":
		set = r.share(ev, &f, "requestParameters.launchPermission.add.items.userId", "requestParameters.launchPermission.add.items.group") || set
	case "ModifySnapshotAttribute":
		set = r.share(ev, &f, "requestParameters.createVolumePermission.add.items.userId", "requestParameters.createVolumePermission.add.items.group") || set
	case "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute":
		if v, ok := ev.Lookup("requestParameters.attributeName"); ok && strings.EqualFold(v.String(), "restore") {
			set = r.share(ev, &f, "requestParameters.valuesToAdd", "") || set
		}
	case "AuthorizeSnapshotAccess":
		set = r.share(ev, &f, "requestParameters.accountWithRestoreAccess", "") || set
	case "CreateGrant":
		set = r.share(ev, &f, "requestParameters.granteePrincipal", "") || set
	case "AddPermission":
		if ev.API.Service == "lambda.amazonaws.com" {
			set = r.share(ev, &f, "requestParameters.principal", "") || set
			if f.SharePublic == "true" && lambdaScoped(ev) {
				// principal "*" limited to a source (an ARN, an account)
				// or to an organization is not everyone
				f.SharePublic = "false"
			}
		}
		// SQS and SNS: the accounts a queue or topic is opened to
		// (AWSAccountIds, AWSAccountId in the API; CloudTrail writes the
		// keys with their first letter lower-cased).
		switch ev.API.Service {
		case "sqs.amazonaws.com", "sns.amazonaws.com":
			for _, p := range []string{"requestParameters.aWSAccountIds", "requestParameters.aWSAccountId", "requestParameters.AWSAccountIds", "requestParameters.AWSAccountId", "requestParameters.awsAccountIds", "requestParameters.awsAccountId"} {
				if _, ok := ev.Lookup(p); ok {
					set = r.share(ev, &f, p, "") || set
					break
				}
			}
		}
	case "CreateResourceShare", "AssociateResourceShare":
		set = r.share(ev, &f, "requestParameters.principals", "") || set
	case "ModifyDocumentPermission":
		set = r.share(ev, &f, "requestParameters.accountIdsToAdd", "") || set
	case "ModifyVpcEndpointServicePermissions":
		set = r.share(ev, &f, "requestParameters.ModifyVpcEndpointServicePermissionsRequest.AddAllowedPrincipals", "requestParameters.addAllowedPrincipals") || set
	case "AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "CreateSecurityGroup":
		set = ingress(ev, &f) || set
	}
	if n := items(ev); n > 0 {
		f.Items, set = n, true
	}
	if names := readNames(ev, op); len(names) > 0 {
		f.Names, set = names, true
	}
	if set {
		facts := f // only now on the heap: most requests set none
		ev.Facts = &facts
	}
}

// operation is the call's name without the API version Lambda appends in
// CloudTrail (AddPermission20150331v2 is AddPermission).
func operation(ev *event.Event) string {
	op := ev.API.Operation
	if ev.API.Service != "lambda.amazonaws.com" {
		return op
	}
	if i := strings.Index(op, "20"); i > 0 && len(op) >= i+8 && strings.Trim(op[i:i+8], "0123456789") == "" {
		return op[:i]
	}
	return op
}

// lambdaScoped: an AddPermission whose grant AWS limits to a source ARN, a
// source account or an organization (the conditions the permission writes
// into the function policy: aws:SourceArn, aws:SourceAccount,
// aws:PrincipalOrgID).
func lambdaScoped(ev *event.Event) bool {
	for _, p := range []string{"requestParameters.sourceArn", "requestParameters.sourceAccount", "requestParameters.principalOrgID"} {
		v := str(ev, p)
		if v == "" {
			continue
		}
		// an ARN that names its account is scoped even with a wildcard
		// in the resource part (API Gateway: …:api-id/*/GET/path)
		if !strings.ContainsAny(v, "*?") || p == "requestParameters.sourceArn" && accountIn(v) != "" && !strings.ContainsAny(strings.Join(strings.SplitN(v, ":", 6)[:5], ":"), "*?") {
			return true
		}
	}
	return false
}

// policy parses the policy document at the first path present.
func (r *Requests) policy(ev *event.Event, paths []string, f *event.Facts) bool {
	for _, path := range paths {
		v, ok := ev.Lookup(path)
		if !ok {
			continue
		}
		var doc []byte
		switch v.Kind {
		case event.KindObject:
			doc = v.JSON()
		case event.KindString:
			doc = []byte(v.String())
		default:
			continue
		}
		p, err := iampolicy.Parse(doc)
		if err != nil {
			return false
		}
		f.PolicyPublic = strconv.FormatBool(p.Public())
		f.PolicyAllowsAll = strconv.FormatBool(p.AllowsAllActions())
		own := ev.Cloud.Account
		f.PolicyForeign = p.ForeignAccounts(func(a string) bool { return a == own || r.Accounts.Known(a) }, r.Accounts.orgs)
		return true
	}
	return false
}

// share collects whom a share call grants to: account ids (in ARNs too),
// and "all" or "*" (everyone) from the group path or the value itself.
func (r *Requests) share(ev *event.Event, f *event.Facts, accountsPath, groupPath string) bool {
	seen := map[string]bool{}
	add := func(v string) {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case strings.EqualFold(v, "all") || v == "*":
			f.SharePublic = "true"
		default:
			if a := accountIn(v); a != "" && !seen[a] {
				seen[a] = true
				f.ShareAccounts = append(f.ShareAccounts, a)
			}
		}
	}
	ev.Each(accountsPath, func(v event.Value) bool {
		if v.Kind == event.KindArray {
			var xs []string
			_ = json.Unmarshal(v.JSON(), &xs)
			for _, x := range xs {
				add(x)
			}
			return true
		}
		add(v.String())
		return true
	})
	if groupPath != "" {
		ev.Each(groupPath, func(v event.Value) bool {
			add(v.String())
			return true
		})
	}
	if len(f.ShareAccounts) == 0 && f.SharePublic == "" {
		return false
	}
	if f.SharePublic == "" {
		f.SharePublic = "false"
	}
	sort.Strings(f.ShareAccounts)
	own := ev.Cloud.Account
	for _, a := range f.ShareAccounts {
		if a != own && !r.Accounts.Known(a) {
			f.ShareForeign = append(f.ShareForeign, a)
		}
	}
	return true
}

// accountIn finds an account id: the value itself, or the account of an
// ARN; service principals have none.
func accountIn(v string) string {
	if len(v) == 12 && strings.Trim(v, "0123456789") == "" {
		return v
	}
	if parts := strings.Split(v, ":"); len(parts) >= 5 && parts[0] == "arn" && len(parts[4]) == 12 {
		return parts[4]
	}
	return ""
}

// rule is one ingress permission, in any of the request's forms.
type rule struct {
	proto    string
	from, to int
	cidrs    []string
}

// ingress reads the rules a request adds: the ipPermissions.items form,
// the older top-level form, and ModifySecurityGroupRules' form.
func ingress(ev *event.Event, f *event.Facts) bool {
	var rules []rule
	elems(ev, "requestParameters.ipPermissions.items", func(raw json.RawMessage) {
		var p struct {
			IPProtocol string          `json:"ipProtocol"`
			FromPort   json.RawMessage `json:"fromPort"`
			ToPort     json.RawMessage `json:"toPort"`
			IPRanges   struct {
				Items []struct {
					CidrIP string `json:"cidrIp"`
				} `json:"items"`
			} `json:"ipRanges"`
			IPv6Ranges struct {
				Items []struct {
					CidrIPv6 string `json:"cidrIpv6"`
				} `json:"items"`
			} `json:"ipv6Ranges"`
		}
		if json.Unmarshal(raw, &p) != nil {
			return
		}
		r := rule{proto: p.IPProtocol, from: port(p.FromPort, -1), to: port(p.ToPort, -1)}
		for _, x := range p.IPRanges.Items {
			r.cidrs = append(r.cidrs, x.CidrIP)
		}
		for _, x := range p.IPv6Ranges.Items {
			r.cidrs = append(r.cidrs, x.CidrIPv6)
		}
		rules = append(rules, r)
	})
	if c, ok := ev.Lookup("requestParameters.cidrIp"); ok {
		r := rule{proto: str(ev, "requestParameters.ipProtocol"), from: num(ev, "requestParameters.fromPort"), to: num(ev, "requestParameters.toPort"), cidrs: []string{c.String()}}
		rules = append(rules, r)
	}
	elems(ev, "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule", func(it json.RawMessage) {
		var x struct {
			Rule struct {
				IPProtocol string          `json:"IpProtocol"`
				FromPort   json.RawMessage `json:"FromPort"`
				ToPort     json.RawMessage `json:"ToPort"`
				CidrIPv4   string          `json:"CidrIpv4"`
				CidrIPv6   string          `json:"CidrIpv6"`
			} `json:"SecurityGroupRule"`
		}
		if json.Unmarshal(it, &x) != nil {
			return
		}
		rules = append(rules, rule{proto: x.Rule.IPProtocol, from: port(x.Rule.FromPort, -1), to: port(x.Rule.ToPort, -1), cidrs: []string{x.Rule.CidrIPv4, x.Rule.CidrIPv6}})
	})
	if len(rules) == 0 {
		return false
	}
	f.IngressInternet, f.IngressAllTraffic = "false", "false"
	ports := map[int]bool{}
	for _, r := range rules {
		open := false
		for _, c := range r.cidrs {
			if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil && p.Bits() == 0 {
				open = true
			}
		}
		if !open {
			continue
		}
		f.IngressInternet = "true"
		proto := strings.ToLower(r.proto)
		all := proto == "-1" || proto == "all" || r.from <= 0 && r.to >= 65535 || r.from == -1 && r.to == -1 && (proto == "tcp" || proto == "udp" || proto == "6" || proto == "17")
		if all {
			f.IngressAllTraffic = "true"
		}
		if proto == "icmp" || proto == "icmpv6" || proto == "1" || proto == "58" {
			continue
		}
		for _, p := range sensitivePorts {
			if all || r.from <= p && p <= r.to {
				ports[p] = true
			}
		}
	}
	for p := range ports {
		f.IngressPorts = append(f.IngressPorts, strconv.Itoa(p))
	}
	slices.SortFunc(f.IngressPorts, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	if f.IngressAllTraffic == "true" {
		f.IngressPorts = append(f.IngressPorts, "all")
	}
	return true
}

// elems calls fn with each element at path: the elements of an array
// there, or the one value.
func elems(ev *event.Event, path string, fn func(json.RawMessage)) {
	ev.Each(path, func(v event.Value) bool {
		if v.Kind == event.KindArray {
			var xs []json.RawMessage
			if json.Unmarshal(v.JSON(), &xs) == nil {
				for _, x := range xs {
					fn(x)
				}
			}
			return true
		}
		fn(v.JSON())
		return true
	})
}

func port(raw json.RawMessage, def int) int {
	if len(raw) == 0 {
		return def
	}
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func str(ev *event.Event, path string) string {
	if v, ok := ev.Lookup(path); ok {
		return v.String()
	}
	return ""
}

func num(ev *event.Event, path string) int {
	if v, ok := ev.Lookup(path); ok {
		if n, err := strconv.Atoi(strings.Trim(v.String(), `"`)); err == nil {
			return n
		}
	}
	return -1
}

// bulkParams: the list a bulk call names its items in.
var bulkParams = map[string][]string{
	"GetParameters":       {"requestParameters.names"},
	"BatchGetSecretValue": {"requestParameters.secretIdList"},
	"DeleteObjects":       {"requestParameters.delete.objects", "requestParameters.delete.Object"},
	"TerminateInstances":  {"requestParameters.instancesSet.items"},
	"StopInstances":       {"requestParameters.instancesSet.items"},
	"DeleteSnapshots":     {"requestParameters.snapshotIds"},
	"BatchDeleteImage":    {"requestParameters.imageIds"},
	"DeleteMessageBatch":  {"requestParameters.entries"},
	"BatchGetItem":        {"requestParameters.requestItems"},
}

// readNames lists the secrets and parameters a read call names: each
// counts once in a value_count correlation over parapet.request.names,
// whether read one call each or many in one batch.
func readNames(ev *event.Event, op string) []string {
	var paths []string
	switch {
	case ev.API.Service == "secretsmanager.amazonaws.com" && op == "GetSecretValue":
		paths = []string{"requestParameters.secretId"}
	case ev.API.Service == "secretsmanager.amazonaws.com" && op == "BatchGetSecretValue":
		paths = []string{"requestParameters.secretIdList"}
	case ev.API.Service == "ssm.amazonaws.com" && op == "GetParameter":
		paths = []string{"requestParameters.name"}
	case ev.API.Service == "ssm.amazonaws.com" && op == "GetParameters":
		paths = []string{"requestParameters.names"}
	case ev.API.Service == "ssm.amazonaws.com" && op == "GetParametersByPath":
		paths = []string{"requestParameters.path"}
	default:
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for _, p := range paths {
		elems(ev, p, func(raw json.RawMessage) {
			var s string
			if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" || seen[s] {
				return
			}
			seen[s] = true
			names = append(names, s)
		})
	}
	if len(names) == 0 && op == "BatchGetSecretValue" {
		// Secrets chosen by filters: the filters stand for them (how many
		// matched, the record does not say).
		if v, ok := ev.Lookup("requestParameters.filters"); ok {
			names = append(names, "filters:"+string(v.JSON()))
		}
	}
	return names
}

// items counts what a bulk request names.
func items(ev *event.Event) int {
	paths, ok := bulkParams[ev.API.Operation]
	if !ok {
		return 0
	}
	for _, p := range paths {
		if v, ok := ev.Lookup(p); ok {
			switch v.Kind {
			case event.KindArray:
				var xs []json.RawMessage
				if json.Unmarshal(v.JSON(), &xs) == nil {
					return len(xs)
				}
			case event.KindObject:
				var m map[string]json.RawMessage
				if json.Unmarshal(v.JSON(), &m) == nil {
					return len(m)
				}
			default:
				return 1
			}
		}
	}
	return 0
}

// Package orgposture reads an AWS Organization's own posture — its SCPs,
// delegated administrators, and GuardDuty, Security Hub, Config and
// CloudTrail coverage per account and region — as check results, and
// rolls compliance scores up by account and OU. It is apart from
// package org, which posture/check imports for account scopes.
package orgposture

import (
	"context"
	"errors"
	"fmt"
	"github.com/parapet-sec/parapet/internal/org"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/smithy-go"

	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/posture/resource"
)

// Services whose organization-wide coverage Posture reads, in the order
// of the coverage matrix.
const (
	GuardDuty   = "guardduty"
	SecurityHub = "securityhub"
	Config      = "config"
	CloudTrail  = "cloudtrail"
)

// Services are the coverage matrix's columns.
var Services = []string{GuardDuty, SecurityHub, Config, CloudTrail}

// Coverage states of a cell.
const (
	Covered    = "covered"
	NotCovered = "not_covered"
	Unknown    = "unknown" // could not be read: Error says why
)

// Cell is one account × region × service of the coverage matrix.
type Cell struct {
	Account string `json:"account"`
	OU      string `json:"ou,omitempty"`
	Region  string `json:"region"`
	Service string `json:"service"`
	Status  string `json:"status"`           // covered, not_covered, unknown
	Detail  string `json:"detail,omitempty"` // what covers it: the detector, the trail (org trail from the management account)
	Error   string `json:"error,omitempty"`  // why unknown
}

// SCP is one service control policy and where it is attached.
type SCP struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	AWSManaged  bool        `json:"aws_managed"`
	Content     string      `json:"content,omitempty"`
	Targets     []SCPTarget `json:"targets"`
}

// SCPTarget is a root, an OU or an account an SCP is attached to.
type SCPTarget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // ROOT, ORGANIZATIONAL_UNIT, ACCOUNT
}

// DelegatedAdmin is an account the organization delegated the
// administration of services to.
type DelegatedAdmin struct {
	Account  string   `json:"account"`
	Name     string   `json:"name,omitempty"`
	Services []string `json:"services"` // service principals: guardduty.amazonaws.com, …
}

// Posture is the organization's own security posture: its SCPs, its
// delegated administrators, and which accounts and regions GuardDuty,
// Security Hub, AWS Config and CloudTrail cover.
type Posture struct {
	Accounts  []org.Account    `json:"accounts"`
	Regions   []string         `json:"regions"`
	Services  []string         `json:"services"`
	Coverage  []Cell           `json:"coverage"`
	SCPs      []SCP            `json:"scps"`
	Delegated []DelegatedAdmin `json:"delegated_admins"`
	// Errors are the organization-level reads that failed (SCPs,
	// delegated administrators, the management account's trails).
	Errors []string `json:"errors,omitempty"`
	// Results are the PARAPET-ORG checks' results: one per coverage cell
	// and service check, and the organization-wide ones.
	Results []check.Result `json:"-"`
}

// Gaps are the cells not covered or unknown.
func (p *Posture) Gaps() []Cell {
	var out []Cell
	for _, c := range p.Coverage {
		if c.Status != Covered {
			out = append(out, c)
		}
	}
	return out
}

// PostureOptions say what Posture reads.
type PostureOptions struct {
	// Base is the management or delegated-administrator account's
	// configuration: SCPs, delegated administrators and organization trails
	// are read there.
	Base     aws.Config
	Assumer  *org.Assumer // into each member account
	Accounts []org.Account
	Regions  []string // default: Base's region
	Session  string   // the role session name
	// Concurrency is how many accounts are read at once (default 4).
	Concurrency int
}

// PostureReads are the calls ReadPosture makes and the IAM actions that
// allow them: the organization ones in the management or delegated
// account, the others through each member account's scanner role (whose
// policy, ScannerPolicy, holds them through awsapi.Reads). A test checks
// the table against this file's calls.
var PostureReads = [][3]string{
	{"cloudtrail", "DescribeTrails", "cloudtrail:DescribeTrails"},
	{"cloudtrail", "GetTrailStatus", "cloudtrail:GetTrailStatus"},
	{"configservice", "DescribeConfigurationRecorderStatus", "config:DescribeConfigurationRecorderStatus"},
	{"configservice", "DescribeConfigurationRecorders", "config:DescribeConfigurationRecorders"},
	{"guardduty", "GetDetector", "guardduty:GetDetector"},
	{"guardduty", "ListDetectors", "guardduty:ListDetectors"},
	{"organizations", "DescribePolicy", "organizations:DescribePolicy"},
	{"organizations", "ListDelegatedAdministrators", "organizations:ListDelegatedAdministrators"},
	{"organizations", "ListDelegatedServicesForAccount", "organizations:ListDelegatedServicesForAccount"},
	{"organizations", "ListPolicies", "organizations:ListPolicies"},
	{"organizations", "ListTargetsForPolicy", "organizations:ListTargetsForPolicy"},
	{"securityhub", "DescribeHub", "securityhub:DescribeHub"},
}

// ReadPosture reads the organization's posture. Nothing it cannot read
// is fatal: an account that cannot be assumed or a call the endpoint
// does not answer makes its cells unknown, with the error.
func ReadPosture(ctx context.Context, opt PostureOptions) *Posture {
	regions := opt.Regions
	if len(regions) == 0 {
		regions = []string{cmpOr(opt.Base.Region, "us-east-1")}
	}
	p := &Posture{Accounts: opt.Accounts, Regions: regions, Services: Services, SCPs: []SCP{}, Delegated: []DelegatedAdmin{}, Coverage: []Cell{}}
	oc := organizations.NewFromConfig(opt.Base)
	if scps, err := readSCPs(ctx, oc); err != nil {
		p.Errors = append(p.Errors, "service control policies: "+err.Error())
		p.SCPs = nil
	} else {
		p.SCPs = scps
	}
	if d, err := readDelegated(ctx, oc); err != nil {
		p.Errors = append(p.Errors, "delegated administrators: "+err.Error())
		p.Delegated = nil
	} else {
		p.Delegated = d
	}
	// The management account's trails, per region: an organization trail
	// covers every member account.
	orgTrails := map[string]trailCover{}
	for _, region := range regions {
		c := opt.Base.Copy()
		c.Region = region
		tc := readTrails(ctx, c, region, true)
		orgTrails[region] = tc
		if tc.err != nil {
			p.Errors = append(p.Errors, fmt.Sprintf("organization trails in %s: %v", region, tc.err))
		}
	}

	var mu sync.Mutex
	org.EachAccount(opt.Accounts, opt.Concurrency, func(a org.Account) {
		var cells []Cell
		aerr := opt.Assumer.Check(ctx, a, opt.Session)
		for _, region := range regions {
			if aerr != nil {
				for _, s := range Services {
					cells = append(cells, Cell{Account: a.ID, OU: a.OU, Region: region, Service: s, Status: Unknown, Error: aerr.Error()})
				}
				continue
			}
			cfg := opt.Assumer.Config(a.ID, region, opt.Session)
			cells = append(cells, readCoverage(ctx, cfg, a, region, orgTrails[region])...)
		}
		mu.Lock()
		p.Coverage = append(p.Coverage, cells...)
		mu.Unlock()
	})
	order := map[string]int{}
	for i, s := range Services {
		order[s] = i
	}
	sort.Slice(p.Coverage, func(i, j int) bool {
		a, b := p.Coverage[i], p.Coverage[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return order[a.Service] < order[b.Service]
	})
	p.Results = p.results()
	return p
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func readSCPs(ctx context.Context, c *organizations.Client) ([]SCP, error) {
	out := []SCP{}
	p := organizations.NewListPoliciesPaginator(c, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeServiceControlPolicy})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		for _, s := range page.Policies {
			scp := SCP{ID: aws.ToString(s.Id), Name: aws.ToString(s.Name), Description: aws.ToString(s.Description), AWSManaged: s.AwsManaged, Targets: []SCPTarget{}}
			if !s.AwsManaged {
				d, err := c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: s.Id})
				if err != nil {
					return nil, fmt.Errorf("describe policy %s: %w", scp.ID, err)
				}
				if d.Policy != nil {
					scp.Content = aws.ToString(d.Policy.Content)
				}
			}
			tp := organizations.NewListTargetsForPolicyPaginator(c, &organizations.ListTargetsForPolicyInput{PolicyId: s.Id})
			for tp.HasMorePages() {
				tpage, err := tp.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("targets of policy %s: %w", scp.ID, err)
				}
				for _, t := range tpage.Targets {
					scp.Targets = append(scp.Targets, SCPTarget{ID: aws.ToString(t.TargetId), Name: aws.ToString(t.Name), Type: string(t.Type)})
				}
			}
			out = append(out, scp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readDelegated(ctx context.Context, c *organizations.Client) ([]DelegatedAdmin, error) {
	out := []DelegatedAdmin{}
	p := organizations.NewListDelegatedAdministratorsPaginator(c, &organizations.ListDelegatedAdministratorsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list delegated administrators: %w", err)
		}
		for _, d := range page.DelegatedAdministrators {
			da := DelegatedAdmin{Account: aws.ToString(d.Id), Name: aws.ToString(d.Name), Services: []string{}}
			sp := organizations.NewListDelegatedServicesForAccountPaginator(c, &organizations.ListDelegatedServicesForAccountInput{AccountId: d.Id})
			for sp.HasMorePages() {
				spage, err := sp.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("delegated services of %s: %w", da.Account, err)
				}
				for _, s := range spage.DelegatedServices {
					da.Services = append(da.Services, aws.ToString(s.ServicePrincipal))
				}
			}
			sort.Strings(da.Services)
			out = append(out, da)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Account < out[j].Account })
	return out, nil
}

// trailCover is what the trails visible in one account and region cover.
type trailCover struct {
	trail string // the first logging trail that covers the region ("": none)
	err   error
}

// readTrails finds a logging trail that covers region: a trail of the
// region or a multi-region one (shadow trails included); with orgOnly,
// only organization trails count.
func readTrails(ctx context.Context, cfg aws.Config, region string, orgOnly bool) trailCover {
	ct := cloudtrail.NewFromConfig(cfg)
	out, err := ct.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return trailCover{err: fmt.Errorf("cloudtrail describe trails: %w", err)}
	}
	var statusErr error
	for _, t := range out.TrailList {
		if orgOnly && !aws.ToBool(t.IsOrganizationTrail) || !covers(t, region) {
			continue
		}
		// The status is read in the trail's home region.
		sc := cfg.Copy()
		if h := aws.ToString(t.HomeRegion); h != "" {
			sc.Region = h
		}
		st, err := cloudtrail.NewFromConfig(sc).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: cmpOrPtr(t.TrailARN, t.Name)})
		if err != nil {
			statusErr = fmt.Errorf("cloudtrail trail status %s: %w", aws.ToString(t.Name), err)
			continue
		}
		if aws.ToBool(st.IsLogging) {
			name := aws.ToString(t.Name)
			if aws.ToBool(t.IsOrganizationTrail) {
				name += " (organization trail)"
			}
			return trailCover{trail: name}
		}
	}
	return trailCover{err: statusErr}
}

func cmpOrPtr(a, b *string) *string {
	if aws.ToString(a) != "" {
		return a
	}
	return b
}

func covers(t cttypes.Trail, region string) bool {
	return aws.ToBool(t.IsMultiRegionTrail) || aws.ToString(t.HomeRegion) == "" || aws.ToString(t.HomeRegion) == region
}

// readCoverage reads one account and region's four services.
func readCoverage(ctx context.Context, cfg aws.Config, a org.Account, region string, orgTrail trailCover) []Cell {
	cell := func(s string) Cell { return Cell{Account: a.ID, OU: a.OU, Region: region, Service: s} }
	var cells []Cell

	gd := cell(GuardDuty)
	gc := guardduty.NewFromConfig(cfg)
	if ds, err := gc.ListDetectors(ctx, &guardduty.ListDetectorsInput{}); err != nil {
		gd.Status, gd.Error = Unknown, "guardduty list detectors: "+err.Error()
	} else {
		gd.Status = NotCovered
		for _, id := range ds.DetectorIds {
			d, err := gc.GetDetector(ctx, &guardduty.GetDetectorInput{DetectorId: aws.String(id)})
			if err != nil {
				gd.Status, gd.Error = Unknown, "guardduty get detector "+id+": "+err.Error()
				continue
			}
			if d.Status == "ENABLED" {
				gd.Status, gd.Detail, gd.Error = Covered, "detector "+id, ""
				break
			}
			gd.Detail = "detector " + id + " " + strings.ToLower(string(d.Status))
		}
	}
	cells = append(cells, gd)

	sh := cell(SecurityHub)
	if out, err := securityhub.NewFromConfig(cfg).DescribeHub(ctx, &securityhub.DescribeHubInput{}); err == nil {
		sh.Status, sh.Detail = Covered, aws.ToString(out.HubArn)
	} else if c := errCode(err); c == "InvalidAccessException" || c == "ResourceNotFoundException" {
		sh.Status = NotCovered
	} else {
		sh.Status, sh.Error = Unknown, "securityhub describe hub: "+err.Error()
	}
	cells = append(cells, sh)

	cf := cell(Config)
	cs := configservice.NewFromConfig(cfg)
	if recs, err := cs.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{}); err != nil {
		cf.Status, cf.Error = Unknown, "config describe recorders: "+err.Error()
	} else if len(recs.ConfigurationRecorders) == 0 {
		cf.Status, cf.Detail = NotCovered, "no recorder"
	} else if st, err := cs.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{}); err != nil {
		cf.Status, cf.Error = Unknown, "config recorder status: "+err.Error()
	} else {
		cf.Status, cf.Detail = NotCovered, "recorder not recording"
		for _, s := range st.ConfigurationRecordersStatus {
			if s.Recording {
				cf.Status, cf.Detail = Covered, "recorder "+aws.ToString(s.Name)
				break
			}
		}
	}
	cells = append(cells, cf)

	ct := cell(CloudTrail)
	own := readTrails(ctx, cfg, region, false)
	switch {
	case orgTrail.trail != "":
		ct.Status, ct.Detail = Covered, orgTrail.trail+" in the management account"
	case own.trail != "":
		ct.Status, ct.Detail = Covered, own.trail
	case own.err != nil || orgTrail.err != nil:
		ct.Status, ct.Error = Unknown, errors.Join(own.err, orgTrail.err).Error()
	default:
		ct.Status = NotCovered
	}
	cells = append(cells, ct)
	return cells
}

// Checks are the organization-level posture checks, evaluated by
// ReadPosture (no CEL condition: their results come from the coverage
// matrix, the SCPs and the delegated administrators). Their framework
// mappings follow the per-account checks of the same services.
var Checks = []*check.Check{
	{ID: "PARAPET-ORG-003", Title: "GuardDuty covers the account and region", Problem: "GuardDuty does not cover the account and region",
		Severity: "high", Resource: CoverageType,
		Rationale:   "An account or region without GuardDuty is where an intruder's reconnaissance, credential abuse and crypto-mining go unseen.",
		Remediation: "Enable GuardDuty from its delegated administrator for every member account (auto-enable) in every region in use.",
		Frameworks:  map[string][]string{"pci-dss-4.0": {"11.5.1"}, "nist-800-53-r5": {"SI-4"}, "soc2": {"CC7.2"}}},
	{ID: "PARAPET-ORG-004", Title: "Security Hub covers the account and region", Problem: "Security Hub does not cover the account and region",
		Severity: "medium", Resource: CoverageType,
		Rationale:   "Security Hub gathers the organization's findings and standards checks in one place; an account without it is missing from that view.",
		Remediation: "Enable Security Hub from its delegated administrator with auto-enable for new accounts, in every region in use.",
		Frameworks:  map[string][]string{"cis-aws-3.0": {"4.16"}, "nist-800-53-r5": {"SI-4"}, "soc2": {"CC7.1"}}},
	{ID: "PARAPET-ORG-005", Title: "AWS Config records in the account and region", Problem: "AWS Config does not record in the account and region",
		Severity: "medium", Resource: CoverageType,
		Rationale:   "Without a recording Config recorder there is no history of resource changes to investigate or to evaluate rules on.",
		Remediation: "Deploy a configuration recorder and delivery channel to every account and region (a StackSet, or Config's organization conformance packs) and start it.",
		Frameworks:  map[string][]string{"cis-aws-3.0": {"3.3"}, "pci-dss-4.0": {"10.2.1"}, "nist-800-53-r5": {"CM-8"}, "soc2": {"CC7.1"}}},
	{ID: "PARAPET-ORG-006", Title: "CloudTrail logs the account and region", Problem: "No CloudTrail trail logs the account and region",
		Severity: "critical", Resource: CoverageType,
		Rationale:   "API activity no trail records cannot be detected or investigated; an organization trail from the management account covers every member.",
		Remediation: "Create a multi-region organization trail in the management account (or a delegated CloudTrail administrator) and keep it logging.",
		Frameworks:  map[string][]string{"cis-aws-3.0": {"3.1"}, "pci-dss-4.0": {"10.2.1"}, "nist-800-53-r5": {"AU-2", "AU-12"}, "soc2": {"CC7.2"}, "hipaa": {"164.312(b)"}}},
	{ID: "PARAPET-ORG-007", Title: "Service control policies restrict the organization", Problem: "No service control policy is attached beyond FullAWSAccess",
		Severity: "medium", Resource: OrganizationType,
		Rationale:   "SCPs are the organization's guardrails (deny leaving the organization, disabling CloudTrail or GuardDuty, unused regions); FullAWSAccess alone restricts nothing.",
		Remediation: "Attach SCPs that deny what no account may do to the root or to the OUs.",
		Frameworks:  map[string][]string{"nist-800-53-r5": {"AC-6"}, "soc2": {"CC6.1"}}},
	{ID: "PARAPET-ORG-008", Title: "GuardDuty has a delegated administrator", Problem: "GuardDuty has no delegated administrator",
		Severity: "low", Resource: OrganizationType,
		Rationale:   "A delegated administrator (the security account) manages GuardDuty for every member and enables it in new accounts automatically, without using the management account.",
		Remediation: "Register the security account as GuardDuty's delegated administrator (guardduty enable-organization-admin-account) in every region in use.",
		Frameworks:  map[string][]string{"nist-800-53-r5": {"SI-4"}, "soc2": {"CC7.2"}}},
	{ID: "PARAPET-ORG-009", Title: "Security Hub has a delegated administrator", Problem: "Security Hub has no delegated administrator",
		Severity: "low", Resource: OrganizationType,
		Rationale:   "A delegated administrator aggregates every member's Security Hub findings and enables new accounts automatically.",
		Remediation: "Register the security account as Security Hub's delegated administrator (securityhub enable-organization-admin-account).",
		Frameworks:  map[string][]string{"nist-800-53-r5": {"SI-4"}, "soc2": {"CC7.1"}}},
}

// Resource types of the organization checks' results.
const (
	CoverageType     = "aws_organization_coverage" // one account and region's service
	OrganizationType = "aws_organization"
)

var serviceCheck = map[string]string{GuardDuty: "PARAPET-ORG-003", SecurityHub: "PARAPET-ORG-004", Config: "PARAPET-ORG-005", CloudTrail: "PARAPET-ORG-006"}

func checkByID(id string) *check.Check {
	i := slices.IndexFunc(Checks, func(c *check.Check) bool { return c.ID == id })
	return Checks[i]
}

func result(c *check.Check, r *resource.Resource, status, reason string) check.Result {
	title := c.Title
	if status == check.Fail {
		title = c.Problem
	}
	return check.Result{Check: c, CheckID: c.ID, Title: title, Severity: c.Severity, Status: status, Reason: reason,
		Resource: r, Location: r.Location, Fingerprint: check.Fingerprint(c.ID, r, "")}
}

func (p *Posture) results() []check.Result {
	var out []check.Result
	for _, cell := range p.Coverage {
		arn := fmt.Sprintf("arn:aws:%s:%s:%s:organization-coverage", cell.Service, cell.Region, cell.Account)
		r := &resource.Resource{Type: CoverageType, Name: cell.Service + " " + cell.Region, ARN: arn, Account: cell.Account, Region: cell.Region,
			Source: "aws", Location: resource.Origin{ARN: arn}, Attrs: map[string]any{"service": cell.Service, "status": cell.Status}}
		if cell.OU != "" {
			r.Attrs[org.AttrOU] = cell.OU
		}
		status, reason := check.Pass, cell.Detail
		switch cell.Status {
		case NotCovered:
			status = check.Fail
		case Unknown:
			status, reason = check.Unknown, cell.Error
		}
		out = append(out, result(checkByID(serviceCheck[cell.Service]), r, status, reason))
	}
	orgRes := &resource.Resource{Type: OrganizationType, Name: "organization", ARN: "arn:aws:organizations::organization", Source: "aws",
		Location: resource.Origin{ARN: "arn:aws:organizations::organization"}}
	if p.SCPs != nil {
		restricting := 0
		for _, s := range p.SCPs {
			if !(s.AWSManaged && s.Name == "FullAWSAccess") && len(s.Targets) > 0 {
				restricting++
			}
		}
		st, why := check.Fail, ""
		if restricting > 0 {
			st, why = check.Pass, fmt.Sprintf("%d attached SCPs besides FullAWSAccess", restricting)
		}
		out = append(out, result(checkByID("PARAPET-ORG-007"), orgRes, st, why))
	} else {
		out = append(out, result(checkByID("PARAPET-ORG-007"), orgRes, check.Unknown, errorsAbout(p.Errors, "service control policies")))
	}
	for id, principal := range map[string]string{"PARAPET-ORG-008": "guardduty.amazonaws.com", "PARAPET-ORG-009": "securityhub.amazonaws.com"} {
		if p.Delegated == nil {
			out = append(out, result(checkByID(id), orgRes, check.Unknown, errorsAbout(p.Errors, "delegated administrators")))
			continue
		}
		st, why := check.Fail, ""
		for _, d := range p.Delegated {
			if slices.Contains(d.Services, principal) {
				st, why = check.Pass, "delegated to "+d.Account
			}
		}
		out = append(out, result(checkByID(id), orgRes, st, why))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CheckID < out[j].CheckID })
	return out
}

func errorsAbout(errs []string, prefix string) string {
	for _, e := range errs {
		if strings.HasPrefix(e, prefix) {
			return e
		}
	}
	return prefix + " could not be read"
}

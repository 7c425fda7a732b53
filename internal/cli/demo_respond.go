package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parapet-sec/parapet/content"
	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/emulator"
	"github.com/parapet-sec/parapet/internal/posture/check"
	"github.com/parapet-sec/parapet/internal/report"
	"github.com/parapet-sec/parapet/internal/respond"
)

// demoAccount is Acme's production account as the emulator holds it: the
// demo's resources, created there, and the emulator's ids for the ids the
// demo's records use.
type demoAccount struct {
	ids map[string]string // demo id → emulator id
	sg  string
	s3  *s3.Client
	iam *iam.Client
	ec2 map[string]*ec2.Client
}

var demoRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}

func seedDemoAccount(ctx context.Context) (*demoAccount, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	a := &demoAccount{ids: map[string]string{}, s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), iam: iam.NewFromConfig(cfg), ec2: map[string]*ec2.Client{}}
	// The finance bucket, with the public policy the story gives it.
	if _, err := a.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acme-finance-reports")}); err != nil {
		return nil, err
	}
	public := `{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-finance-reports/*"}]}`
	if _, err := a.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("acme-finance-reports"), Policy: aws.String(public)}); err != nil {
		return nil, err
	}
	// The web security group, SSH open to the world beside HTTPS.
	east := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = "us-east-1" })
	vpcs, err := east.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		return nil, fmt.Errorf("no default VPC in the emulator: %v", err)
	}
	sg, err := east.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web tier"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		return nil, err
	}
	a.sg = aws.ToString(sg.GroupId)
	a.ids["sg-0web0000000000001"] = a.sg
	for _, port := range []int32{443, 22} {
		if _, err := east.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
			return nil, err
		}
	}
	// frank's stolen key, and the key it made for erin.
	for _, u := range []struct{ user, demoKey string }{{"frank", "AKIAEXAMPLEFRANK0006"}, {"erin", "AKIAEXAMPLENEWKEY010"}} {
		if _, err := a.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u.user)}); err != nil {
			return nil, err
		}
		k, err := a.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u.user)})
		if err != nil {
			return nil, err
		}
		a.ids[u.demoKey] = aws.ToString(k.AccessKey.AccessKeyId)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2-app"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		return nil, err
	}
	// The miners: eight GPU instances in each of three regions.
	for ri, region := range demoRegions {
		cl := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		a.ec2[region] = cl
		imgs, err := cl.DescribeImages(ctx, &ec2.DescribeImagesInput{})
		if err != nil || len(imgs.Images) == 0 {
			return nil, fmt.Errorf("no images in the emulator (%s): %v", region, err)
		}
		for batch := range 2 {
			run, err := cl.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(4), MaxCount: aws.Int32(4), InstanceType: ec2types.InstanceTypeP32xlarge})
			if err != nil {
				return nil, err
			}
			for k, inst := range run.Instances {
				a.ids[fmt.Sprintf("i-0c0ffee%02d%02d%06d", ri, batch, k)] = aws.ToString(inst.InstanceId)
			}
		}
	}
	return a, nil
}

// translate swaps the demo's ids for the emulator's in a finding line.
func (a *demoAccount) translate(line []byte) []byte {
	s := string(line)
	for from, to := range a.ids {
		s = strings.ReplaceAll(s, from, to)
	}
	return []byte(s)
}

// demoResponse runs the builtin playbooks on the demo's findings: on the
// emulator when moto_server is there, approving as "demo" what waits for
// approval; in dry-run otherwise. It says which.
func demoResponse(ctx context.Context, w io.Writer, dir string, findings []detect.Finding) error {
	moto, err := emulator.Start()
	live := err == nil
	if live {
		defer moto.Stop()
		restore := setEnv(moto.Env())
		defer restore()
	}
	// A local webhook receiver stands in for Slack.
	var mu sync.Mutex
	var slack []string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		slack = append(slack, m.Text)
		mu.Unlock()
	}))
	defer srv.Close()
	defer setEnv(map[string]string{"PARAPET_SLACK_WEBHOOK": srv.URL})()

	var acct *demoAccount
	if live {
		if acct, err = seedDemoAccount(ctx); err != nil {
			return fmt.Errorf("seeding the emulator: %w", err)
		}
		fmt.Fprintf(w, "\nResponse: the builtin playbooks act on an AWS API emulator (moto_server at %s) seeded with Acme's\n"+
			"resources as the stories leave them; the emulator's ids stand in for the demo's. What waits for approval the demo\n"+
			"approves, as \"demo\". Slack messages go to a local receiver.\n", moto.URL)
	} else {
		fmt.Fprintf(w, "\nResponse: DRY-RUN (%v): the builtin playbooks plan their calls and make none.\n", err)
	}
	rf := responseFlags{db: filepath.Join(dir, "parapet.db"), dryRun: !live}
	e, closeFn, err := rf.engine(ctx, IO{Out: io.Discard, Err: io.Discard})
	if err != nil {
		return err
	}
	defer closeFn()
	type tally struct{ findings, executed, planned, skipped, failed, pending int }
	per := map[string]*tally{}
	for i := range findings {
		line := report.AppendFindingJSON(nil, &findings[i])
		if rec := findings[i].Record; len(rec) > 0 {
			line = append(append(append(line[:len(line)-1], `,"record":`...), rec...), '}')
		}
		if acct != nil {
			line = acct.translate(line)
		}
		f, err := respond.ParseFinding(line)
		if err != nil {
			return err
		}
		rs, err := e.Handle(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.ApprovalID != "" && live {
				if r, err = e.Decide(ctx, r.ApprovalID, "demo", "approved by the demo", true); err != nil {
					return err
				}
			}
			t := per[r.Playbook]
			if t == nil {
				t = &tally{}
				per[r.Playbook] = t
			}
			t.findings++
			if r.Status == "pending-approval" {
				t.pending++
			}
			for _, s := range r.Steps {
				switch s.Status {
				case "executed":
					t.executed++
				case "planned":
					t.planned++
				case "skipped":
					t.skipped++
				case "failed":
					t.failed++
				}
			}
		}
	}
	var names []string
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t := per[n]
		fmt.Fprintf(w, "  %-26s %3d findings: %d steps executed, %d planned, %d skipped, %d failed", n, t.findings, t.executed, t.planned, t.skipped, t.failed)
		if t.pending > 0 {
			fmt.Fprintf(w, ", %d waiting for approval", t.pending)
		}
		fmt.Fprintln(w)
	}
	if live {
		fmt.Fprintln(w, "  Read back through the API afterwards:")
		for _, line := range acct.check(ctx) {
			fmt.Fprintln(w, "    "+line)
		}
	}
	mu.Lock()
	fmt.Fprintf(w, "  Slack receiver got %d messages", len(slack))
	if len(slack) > 0 {
		fmt.Fprintf(w, ", e.g. %q", slack[0])
	}
	fmt.Fprintln(w)
	mu.Unlock()
	n, head, err := audit.Verify(ctx, e.DB, e.Audit.Head())
	if err != nil {
		fmt.Fprintf(w, "  Audit trail BROKEN: %v\n", err)
		return err
	}
	fmt.Fprintf(w, "  Audit trail: %d records, hash chain intact, head %s (parapet audit verify --db %s)\n", n, head[:16]+"…", rf.db)
	return nil
}

// check reads back what the response changed.
func (a *demoAccount) check(ctx context.Context) []string {
	var out []string
	_, err := a.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("acme-finance-reports")})
	pab, perr := a.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String("acme-finance-reports")})
	blocked := perr == nil && aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) && aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets)
	out = append(out, fmt.Sprintf("bucket acme-finance-reports: public policy %s; public access blocked: %v", map[bool]string{true: "gone", false: "STILL THERE"}[err != nil], blocked))
	sgs, err := a.ec2["us-east-1"].DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{a.sg}})
	if err == nil && len(sgs.SecurityGroups) == 1 {
		var ports []string
		ssh := false
		for _, p := range sgs.SecurityGroups[0].IpPermissions {
			ports = append(ports, fmt.Sprint(aws.ToInt32(p.FromPort)))
			ssh = ssh || aws.ToInt32(p.FromPort) == 22
		}
		out = append(out, fmt.Sprintf("security group web (%s): SSH from the internet %s; still open: ports %s", a.sg, map[bool]string{true: "STILL OPEN", false: "revoked"}[ssh], strings.Join(ports, ", ")))
	}
	for _, u := range []string{"frank", "erin"} {
		keys, err := a.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)})
		if err != nil || len(keys.AccessKeyMetadata) == 0 {
			continue
		}
		_, qerr := a.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(u), PolicyName: aws.String("parapet-quarantine")})
		out = append(out, fmt.Sprintf("user %s: access key %s %s; quarantined (deny-all): %v", u, aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId), keys.AccessKeyMetadata[0].Status, qerr == nil))
	}
	stopped, isolated, total := 0, 0, 0
	for _, region := range demoRegions {
		res, err := a.ec2[region].DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			continue
		}
		for _, r := range res.Reservations {
			for _, inst := range r.Instances {
				total++
				if inst.State != nil && (inst.State.Name == ec2types.InstanceStateNameStopped || inst.State.Name == ec2types.InstanceStateNameStopping) {
					stopped++
				}
				for _, g := range inst.SecurityGroups {
					if strings.HasPrefix(aws.ToString(g.GroupName), "parapet-quarantine-") {
						isolated++
					}
				}
			}
		}
	}
	out = append(out, fmt.Sprintf("GPU instances: %d of %d stopped, %d in an isolation group", stopped, total, isolated))
	if doc, err := a.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("ec2-app"), PolicyName: aws.String("parapet-revoke-older-sessions")}); err == nil {
		out = append(out, "role ec2-app: sessions issued before the response refused ("+strings.SplitN(aws.ToString(doc.PolicyName), "/", 2)[0]+")")
	} else {
		out = append(out, "role ec2-app: sessions not revoked")
	}
	return out
}

// setEnv sets variables and returns what puts the old values back.
func setEnv(vars map[string]string) func() {
	old := map[string]*string{}
	for k, v := range vars {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// demoPosture writes the bundled example Terraform project into the demo
// folder and scans it: shift-left, the same checks as the live account.
func demoPosture(w io.Writer, io2 IO, dir string) error {
	dst := filepath.Join(dir, "terraform")
	if err := writeExampleProject(dst); err != nil {
		return err
	}
	return scanDemoProject(w, dst)
}

// writeExampleProject copies the bundled example Terraform project to dst.
func writeExampleProject(dst string) error {
	sub, err := fs.Sub(content.FS, "examples/terraform/acme")
	if err != nil {
		return err
	}
	return fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), b, 0o644)
	})
}

// scanDemoProject scans the example project and prints its scores.
func scanDemoProject(w io.Writer, dst string) error {
	var out, errb strings.Builder
	root := New(IO{Out: &out, Err: &errb})
	root.SetArgs([]string{"scan", "iac", "--format", "json", dst})
	_ = root.Execute()
	var rep scanReport
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		return fmt.Errorf("scan of the example project: %v: %s", err, errb.String())
	}
	fmt.Fprintf(w, "\nPosture: the example Terraform project in %s (shift-left: the checks a pull request would meet)\n", dst)
	fmt.Fprintf(w, "  %d resources, %d checks: %d passed, %d failed, %d suppressed with a reason\n", rep.Resources, rep.Checks, rep.Passed, rep.Failed, len(rep.Suppressed))
	sort.SliceStable(rep.Results, func(i, j int) bool {
		return check.SeverityRank(rep.Results[i].Severity) > check.SeverityRank(rep.Results[j].Severity)
	})
	shown := 0
	for _, r := range rep.Results {
		if r.Status != check.Fail || shown == 6 {
			continue
		}
		shown++
		fmt.Fprintf(w, "  FAIL %-8s %-16s %-40s %s:%d\n", r.Severity, r.CheckID, r.Resource.Address, r.Location.File, r.Location.StartLine)
	}
	if rep.Failed > shown {
		fmt.Fprintf(w, "  … and %d more (bin/parapet scan iac %s)\n", rep.Failed-shown, dst)
	}
	for _, f := range rep.Frameworks {
		fmt.Fprintf(w, "  %-16s %3.0f%% of %d evaluated controls pass\n", f.ID, f.Percent, f.Evaluated)
	}
	// The same scan as a report to open in a browser.
	html := filepath.Join(filepath.Dir(dst), "posture.html")
	var page, perr strings.Builder
	root = New(IO{Out: &page, Err: &perr})
	root.SetArgs([]string{"scan", "iac", "--format", "html", dst})
	if err := root.Execute(); err != nil {
		return fmt.Errorf("html report: %v: %s", err, perr.String())
	}
	if err := os.WriteFile(html, []byte(page.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "  report: %s (scores per control, each failure with its location and fix)\n", html)
	return nil
}

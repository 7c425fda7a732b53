package awsaction

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/guardduty"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/respond"
)

type env struct {
	ctx context.Context
	s3  *s3.Client
	iam *iam.Client
	ec2 *ec2.Client
	gd  *guardduty.Client
	reg *respond.Registry
}

func setup(t *testing.T) *env {
	t.Helper()
	awstest.Start(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg := respond.NewRegistry()
	Register(reg, &Clients{})
	return &env{ctx: ctx, s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), iam: iam.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), gd: guardduty.NewFromConfig(cfg), reg: reg}
}

// run executes an action, then its rollback, checking the state after each
// through the API.
func (e *env) run(t *testing.T, name string, p respond.Params, after, rolledBack func() error) {
	t.Helper()
	a := e.reg.Get(name)
	if a == nil {
		t.Fatalf("no action %s", name)
	}
	// The live state shows the problem before, and not after.
	live, err := a.Verify(e.ctx, p)
	if err != nil || !live.Problem || live.Why == "" {
		t.Fatalf("%s: before: live %+v, %v", name, live, err)
	}
	o, err := a.Execute(e.ctx, p)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if name != "ec2.snapshot_volumes" && name != "iam.revoke_role_sessions" {
		if live, err := a.Verify(e.ctx, p); err != nil || live.Problem {
			t.Errorf("%s: after: the live state still shows the problem: %+v, %v", name, live, err)
		}
	}
	if o.Summary == "" || len(o.Calls) == 0 {
		t.Errorf("%s: outcome without summary or calls: %+v", name, o)
	}
	if err := after(); err != nil {
		t.Errorf("%s: after: %v", name, err)
	}
	// Idempotent: a second run succeeds and changes nothing more.
	if _, err := a.Execute(e.ctx, p); err != nil {
		t.Errorf("%s: second run: %v", name, err)
	}
	if err := after(); err != nil {
		t.Errorf("%s: after the second run: %v", name, err)
	}
	if rolledBack == nil {
		if a.Rollback != nil {
			t.Errorf("%s declares a rollback the test does not check", name)
		}
		return
	}
	if err := a.Rollback(e.ctx, p, o); err != nil {
		t.Fatalf("%s: rollback: %v", name, err)
	}
	if err := rolledBack(); err != nil {
		t.Errorf("%s: after rollback: %v", name, err)
	}
}

type check bool

func (c check) or(msg string) error {
	if c {
		return nil
	}
	return errorString(msg)
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestS3Actions(t *testing.T) {
	e := setup(t)
	b := aws.String("acme-data")
	if _, err := e.s3.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	p := respond.Params{"bucket": "acme-data"}
	e.run(t, "s3.put_public_access_block", p, func() error {
		out, err := e.s3.GetPublicAccessBlock(e.ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
		if err != nil {
			return err
		}
		return check(aws.ToBool(out.PublicAccessBlockConfiguration.BlockPublicPolicy) && aws.ToBool(out.PublicAccessBlockConfiguration.RestrictPublicBuckets)).or("not blocked")
	}, func() error {
		_, err := e.s3.GetPublicAccessBlock(e.ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
		return check(apiCode(err) == "NoSuchPublicAccessBlockConfiguration").or("still there after rollback")
	})
	e.run(t, "s3.enable_versioning", p, func() error {
		out, err := e.s3.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: b})
		if err != nil {
			return err
		}
		return check(out.Status == s3types.BucketVersioningStatusEnabled).or("versioning " + string(out.Status))
	}, func() error {
		out, err := e.s3.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: b})
		if err != nil {
			return err
		}
		return check(out.Status == s3types.BucketVersioningStatusSuspended).or("versioning " + string(out.Status))
	})
	e.run(t, "s3.enable_default_encryption", p, func() error {
		out, err := e.s3.GetBucketEncryption(e.ctx, &s3.GetBucketEncryptionInput{Bucket: b})
		if err != nil {
			return err
		}
		d := out.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
		return check(d.SSEAlgorithm == s3types.ServerSideEncryptionAes256).or("algorithm " + string(d.SSEAlgorithm))
	}, func() error { return nil })
	if _, err := e.s3.PutBucketAcl(e.ctx, &s3.PutBucketAclInput{Bucket: b, ACL: s3types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	public := func() (bool, error) {
		out, err := e.s3.GetBucketAcl(e.ctx, &s3.GetBucketAclInput{Bucket: b})
		if err != nil {
			return false, err
		}
		for _, g := range out.Grants {
			if g.Grantee != nil && strings.HasSuffix(aws.ToString(g.Grantee.URI), "/AllUsers") {
				return true, nil
			}
		}
		return false, nil
	}
	e.run(t, "s3.remove_public_acl", p, func() error {
		pub, err := public()
		if err != nil {
			return err
		}
		return check(!pub).or("still public")
	}, func() error {
		pub, err := public()
		if err != nil {
			return err
		}
		return check(pub).or("the public grant did not come back")
	})
}

func TestIAMActions(t *testing.T) {
	e := setup(t)
	for _, u := range []string{"frank"} {
		if _, err := e.iam.CreateUser(e.ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("ci"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := e.iam.CreateAccessKey(e.ctx, &iam.CreateAccessKeyInput{UserName: aws.String("frank")})
	if err != nil {
		t.Fatal(err)
	}
	keyStatus := func() string {
		out, _ := e.iam.ListAccessKeys(e.ctx, &iam.ListAccessKeysInput{UserName: aws.String("frank")})
		for _, k := range out.AccessKeyMetadata {
			return string(k.Status)
		}
		return ""
	}
	e.run(t, "iam.deactivate_access_key", respond.Params{"user": "frank", "access_key_id": aws.ToString(key.AccessKey.AccessKeyId)},
		func() error { return check(keyStatus() == "Inactive").or("key " + keyStatus()) },
		func() error { return check(keyStatus() == "Active").or("key " + keyStatus()) })
	userPolicy := func(name string) bool {
		_, err := e.iam.GetUserPolicy(e.ctx, &iam.GetUserPolicyInput{UserName: aws.String("frank"), PolicyName: aws.String(name)})
		return err == nil
	}
	rolePolicy := func(name string) (string, bool) {
		out, err := e.iam.GetRolePolicy(e.ctx, &iam.GetRolePolicyInput{RoleName: aws.String("ci"), PolicyName: aws.String(name)})
		if err != nil {
			return "", false
		}
		doc, _ := url.QueryUnescape(aws.ToString(out.PolicyDocument)) // IAM returns documents URL-encoded
		return doc, true
	}
	e.run(t, "iam.quarantine_user", respond.Params{"user": "frank"},
		func() error { return check(userPolicy(quarantineName)).or("no quarantine policy") },
		func() error { return check(!userPolicy(quarantineName)).or("quarantine policy left") })
	e.run(t, "iam.quarantine_role", respond.Params{"role": "ci"},
		func() error { _, ok := rolePolicy(quarantineName); return check(ok).or("no quarantine policy") },
		func() error { _, ok := rolePolicy(quarantineName); return check(!ok).or("quarantine policy left") })
	e.run(t, "iam.revoke_role_sessions", respond.Params{"role": "ci"},
		func() error {
			doc, ok := rolePolicy(revokeName)
			return check(ok && strings.Contains(doc, "aws:TokenIssueTime")).or("no session revocation: " + doc)
		},
		func() error { _, ok := rolePolicy(revokeName); return check(!ok).or("revocation left") })
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	if _, err := e.iam.AttachUserPolicy(e.ctx, &iam.AttachUserPolicyInput{UserName: aws.String("frank"), PolicyArn: aws.String(admin)}); err != nil {
		t.Fatal(err)
	}
	attached := func() bool {
		out, _ := e.iam.ListAttachedUserPolicies(e.ctx, &iam.ListAttachedUserPoliciesInput{UserName: aws.String("frank")})
		for _, p := range out.AttachedPolicies {
			if aws.ToString(p.PolicyArn) == admin {
				return true
			}
		}
		return false
	}
	a := e.reg.Get("iam.detach_user_policy")
	o, err := a.Execute(e.ctx, respond.Params{"user": "frank", "policy_arn": admin})
	if err != nil || attached() {
		t.Fatalf("detach: %v, still attached %v", err, attached())
	}
	if err := a.Rollback(e.ctx, respond.Params{"user": "frank", "policy_arn": admin}, o); err != nil || !attached() {
		t.Errorf("re-attach: %v, attached %v", err, attached())
	}
	if _, err := e.iam.CreateLoginProfile(e.ctx, &iam.CreateLoginProfileInput{UserName: aws.String("frank"), Password: aws.String("Sup3r-secret-pw!")}); err != nil {
		t.Fatal(err)
	}
	e.run(t, "iam.delete_login_profile", respond.Params{"user": "frank"}, func() error {
		_, err := e.iam.GetLoginProfile(e.ctx, &iam.GetLoginProfileInput{UserName: aws.String("frank")})
		return check(apiCode(err) == "NoSuchEntity").or("console password still there")
	}, nil)
}

func TestEC2Actions(t *testing.T) {
	e := setup(t)
	imgs, err := e.ec2.DescribeImages(e.ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(imgs.Images) == 0 {
		t.Fatalf("no images in the emulator: %v", err)
	}
	vpcs, _ := e.ec2.DescribeVpcs(e.ctx, &ec2.DescribeVpcsInput{})
	app, err := e.ec2.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("app"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	subnets, _ := e.ec2.DescribeSubnets(e.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpcs.Vpcs[0].VpcId)}}}})
	run, err := e.ec2.RunInstances(e.ctx, &ec2.RunInstancesInput{ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro,
		SecurityGroupIds: []string{aws.ToString(app.GroupId)}, SubnetId: subnets.Subnets[0].SubnetId})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	before := aws.ToString(app.GroupId)
	groups := func() []string {
		inst, err := describeInstance(e.ctx, &Clients{}, id)
		if err != nil {
			return nil
		}
		var out []string
		for _, g := range inst.SecurityGroups {
			out = append(out, aws.ToString(g.GroupId))
		}
		return out
	}
	p := respond.Params{"instance_id": id, "finding_id": "f-1"}
	e.run(t, "ec2.quarantine_instance", p, func() error {
		g := groups()
		if len(g) != 1 || g[0] == before {
			return errorString("groups " + strings.Join(g, ","))
		}
		sg, err := e.ec2.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: g})
		if err != nil {
			return err
		}
		q := sg.SecurityGroups[0]
		return check(strings.HasPrefix(aws.ToString(q.GroupName), "parapet-quarantine-") && len(q.IpPermissions) == 0 && len(q.IpPermissionsEgress) == 0).or("the isolation group lets traffic through")
	}, func() error {
		g := groups()
		return check(len(g) == 1 && g[0] == before).or("groups after rollback " + strings.Join(g, ","))
	})
	snaps := func() int {
		out, _ := e.ec2.DescribeSnapshots(e.ctx, &ec2.DescribeSnapshotsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:parapet:instance"), Values: []string{id}}}})
		return len(out.Snapshots)
	}
	a := e.reg.Get("ec2.snapshot_volumes")
	if _, err := a.Execute(e.ctx, p); err != nil || snaps() == 0 {
		t.Errorf("snapshot: %v, %d tagged snapshots", err, snaps())
	}
	state := func() string {
		inst, err := describeInstance(e.ctx, &Clients{}, id)
		if err != nil || inst.State == nil {
			return ""
		}
		return string(inst.State.Name)
	}
	e.run(t, "ec2.stop_instance", p, func() error {
		s := state()
		return check(s == "stopping" || s == "stopped").or("state " + s)
	}, func() error {
		s := state()
		return check(s == "pending" || s == "running").or("state " + s)
	})
	sg, err := e.ec2.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("rdp"), Description: aws.String("rdp"), VpcId: vpcs.Vpcs[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	rdp := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(3389), ToPort: aws.Int32(3389), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{rdp}}); err != nil {
		t.Fatal(err)
	}
	rules := func() int {
		out, _ := e.ec2.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
		return len(out.SecurityGroups[0].IpPermissions)
	}
	e.run(t, "ec2.revoke_security_group_ingress", respond.Params{"group_id": aws.ToString(sg.GroupId), "protocol": "tcp", "from_port": "3389", "to_port": "3389", "cidr": "::/0"},
		func() error { return check(rules() == 0).or("the rule is still there") },
		func() error { return check(rules() == 1).or("the rule did not come back") })
}

func TestGuardDutyAction(t *testing.T) {
	e := setup(t)
	d, err := e.gd.CreateDetector(e.ctx, &guardduty.CreateDetectorInput{Enable: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	status := func() string {
		out, err := e.gd.GetDetector(e.ctx, &guardduty.GetDetectorInput{DetectorId: d.DetectorId})
		if err != nil {
			return err.Error()
		}
		return string(out.Status)
	}
	e.run(t, "guardduty.enable_detector", respond.Params{"detector_id": aws.ToString(d.DetectorId)},
		func() error { return check(status() == "ENABLED").or("detector " + status()) }, nil)
}

// Every action that changes the estate re-reads it first, and every
// parameter has a kind its values are checked against.
func TestEveryActionVerifiesAndValidates(t *testing.T) {
	reg := respond.NewRegistry()
	Register(reg, &Clients{})
	for _, name := range reg.Names() {
		a := reg.Get(name)
		if a.Verify == nil && !a.NoLiveState {
			t.Errorf("%s changes the estate but has no Verify", name)
		}
		for _, p := range append(append([]string{}, a.Required...), a.Optional...) {
			if _, ok := a.Kinds[p]; !ok {
				t.Errorf("%s: parameter %s has no kind", name, p)
			}
		}
	}
}

// Resources a record names that do not exist are nothing to act on.
func TestVerifyMissingResources(t *testing.T) {
	e := setup(t)
	for name, p := range map[string]respond.Params{
		"s3.revert_bucket_policy":           {"bucket": "no-such-bucket"},
		"s3.put_public_access_block":        {"bucket": "no-such-bucket"},
		"s3.enable_default_encryption":      {"bucket": "no-such-bucket"},
		"iam.deactivate_access_key":         {"user": "nobody", "access_key_id": "AKIAIOSFODNN7EXAMPLE"},
		"iam.quarantine_user":               {"user": "nobody"},
		"iam.delete_login_profile":          {"user": "nobody"},
		"ec2.stop_instance":                 {"instance_id": "i-0123456789abcdef0"},
		"ec2.quarantine_instance":           {"instance_id": "i-0123456789abcdef0"},
		"ec2.revoke_security_group_ingress": {"group_id": "sg-0123456789abcdef0", "cidr": "0.0.0.0/0", "from_port": "22", "to_port": "22"},
		"cloudtrail.start_logging":          {"trail": "no-such-trail"},
	} {
		live, err := e.reg.Get(name).Verify(e.ctx, p)
		if err != nil || live.Problem {
			t.Errorf("%s on a missing resource: %+v, %v", name, live, err)
		}
	}
}

package changes

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

func write(id string, at time.Time, op string, res ...event.Resource) event.Event {
	return event.Event{ID: id, Time: at, Class: event.ClassAPIActivity, Cloud: event.Cloud{Account: "111122223333", Region: "eu-west-1"},
		Actor: event.Actor{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/alice", UserName: "alice"},
		Src:   event.Endpoint{IP: netip.MustParseAddr("198.51.100.7"), UserAgent: "aws-cli/2"},
		API:   event.API{Service: "ec2.amazonaws.com", Operation: op}, Outcome: event.OutcomeSuccess, Resources: res}
}

var sg = event.Resource{Type: "AWS::EC2::SecurityGroup", UID: "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1", Name: "sg-1", Account: "111122223333"}

func TestFromEvent(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ok := write("1", t0, "AuthorizeSecurityGroupIngress", sg)
	if c, keys, yes := FromEvent(&ok); !yes || c.Actor != ok.Actor.ARN || c.SourceIP != "198.51.100.7" || c.Identity != "person" || len(keys) != 2 {
		t.Errorf("a successful write: %+v %v %v", c, keys, yes)
	}
	failed := write("2", t0, "AuthorizeSecurityGroupIngress", sg)
	failed.Outcome, failed.API.ErrorCode = event.OutcomeFailure, "UnauthorizedOperation"
	read := write("3", t0, "DescribeSecurityGroups", sg)
	read.API.ReadOnly = true
	unmarkedRead := write("4", t0, "DescribeSecurityGroups", sg)
	flow := write("5", t0, "", sg)
	flow.Class = event.ClassNetworkActivity
	none := write("6", t0, "AuthorizeSecurityGroupIngress")
	for _, ev := range []event.Event{failed, read, unmarkedRead, flow, none} {
		if _, _, yes := FromEvent(&ev); yes {
			t.Errorf("event %s (%s, outcome %d) counted as a change", ev.ID, ev.API.Operation, ev.Outcome)
		}
	}
	svc := write("7", t0, "PutBucketPolicy", event.Resource{Type: "AWS::S3::Bucket", UID: "arn:aws:s3:::logs", Name: "logs"})
	svc.Actor = event.Actor{Type: "AWSService", InvokedBy: "cloudtrail.amazonaws.com"}
	svc.Src = event.Endpoint{Domain: "cloudtrail.amazonaws.com"}
	c, keys, yes := FromEvent(&svc)
	if !yes || c.Identity != "service" || c.Actor != "cloudtrail.amazonaws.com" || c.Source != "cloudtrail.amazonaws.com" {
		t.Errorf("a service's change: %+v", c)
	}
	if len(keys) != 2 || keys[1] != "name /logs" {
		t.Errorf("a bucket is known by its ARN and by its name without an account: %v", keys)
	}
}

func TestIndex(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ix := &Index{}
	// Out of order, one duplicated: newest first, once each, at most PerResource.
	for _, i := range []int{3, 1, 7, 2, 2, 6, 4, 5, 0} {
		ev := write(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute), "ModifySecurityGroupRules", sg)
		ix.Observe(&ev)
	}
	got := ix.Lookup(sg.UID, "", "")
	if len(got) != PerResource {
		t.Fatalf("kept %d changes, want %d", len(got), PerResource)
	}
	for i, c := range got {
		if want := fmt.Sprint(7 - i); c.EventID != want {
			t.Errorf("change %d = event %s, want %s (newest first)", i, c.EventID, want)
		}
	}
	// By name within the account, when the posture resource has no ARN.
	if got := ix.Lookup("", "111122223333", "sg-1"); len(got) != PerResource {
		t.Errorf("lookup by account and name: %d changes", len(got))
	}
	if got := ix.Lookup("", "444455556666", "sg-1"); len(got) != 0 {
		t.Errorf("another account's sg-1 matched: %+v", got)
	}
	if d := ix.Dirty(); len(d) != 2 || len(ix.Dirty()) != 0 {
		t.Errorf("dirty keys: %v, then not cleared", d)
	}
	// Bounded: the resources changed longest ago go first.
	small := &Index{Max: 10}
	for i := range 25 {
		r := event.Resource{Type: "AWS::IAM::User", UID: fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i), Name: fmt.Sprintf("u%d", i), Account: "111122223333"}
		ev := write(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute), "AttachUserPolicy", r)
		small.Observe(&ev)
	}
	if small.Len() > 2*10 {
		t.Errorf("index holds %d keys, bound 10 resources", small.Len())
	}
	if got := small.Lookup("arn:aws:iam::111122223333:user/u24", "", ""); len(got) != 1 {
		t.Errorf("the newest resource was evicted")
	}
	if got := small.Lookup("arn:aws:iam::111122223333:user/u0", "", ""); len(got) != 0 {
		t.Errorf("the oldest resource was kept")
	}
}

package org

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/parapet-sec/parapet/internal/awstest"
	"github.com/parapet-sec/parapet/internal/org/orgtest"
	"github.com/parapet-sec/parapet/internal/posture/awsapi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Stop()
	os.Exit(code)
}

func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ in []string }{
		{[]string{"parapet-scan", "20261206T230000Z"}},
		{[]string{"parapet", "s3 block public/access", strings.Repeat("x", 80)}},
		{[]string{""}},
	} {
		got := SessionName(tc.in...)
		if len(got) < 2 || len(got) > 64 || sessionBad.MatchString(got) {
			t.Errorf("SessionName(%q) = %q: not a valid STS session name", tc.in, got)
		}
	}
}

func TestSelect(t *testing.T) {
	accts := []Account{
		{ID: "1", OU: "Root/Sandbox", Status: "ACTIVE", Tags: map[string]string{"env": "dev"}},
		{ID: "2", OU: "Root/Production", Status: "ACTIVE", Tags: map[string]string{"env": "prod"}},
		{ID: "3", OU: "Root/Production/Payments", Status: "ACTIVE"},
		{ID: "4", OU: "Root", Status: "SUSPENDED"},
		{ID: "5", OU: "Root/Sandbox", Status: "ACTIVE"},
	}
	for _, tc := range []struct {
		name             string
		include, exclude Filter
		want             []string
	}{
		{"all active", Filter{}, Filter{}, []string{"1", "2", "3", "5"}},
		{"OU path with sub-OUs", Filter{OUs: []string{"Root/Production"}}, Filter{}, []string{"2", "3"}},
		{"bare OU name", Filter{OUs: []string{"sandbox"}}, Filter{}, []string{"1", "5"}},
		{"exclude account", Filter{OUs: []string{"Sandbox"}}, Filter{Accounts: []string{"5"}}, []string{"1"}},
		{"include tag", Filter{Tags: map[string]string{"env": "*"}}, Filter{}, []string{"1", "2"}},
		{"exclude tag", Filter{}, Filter{Tags: map[string]string{"env": "prod"}}, []string{"1", "3", "5"}},
		{"exclude OU", Filter{}, Filter{OUs: []string{"Root/Production/Payments"}}, []string{"1", "2", "5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range Select(accts, tc.include, tc.exclude) {
				got = append(got, a.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Select = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOrganizationOnEmulator(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()

	accts, err := Discover(ctx, f.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	ou := map[string]string{}
	for _, a := range accts {
		ou[a.ID] = a.OU
	}
	for _, id := range f.Sandbox {
		if ou[id] != "Root/Sandbox" {
			t.Errorf("Discover: account %s OU = %q, want Root/Sandbox", id, ou[id])
		}
	}
	for _, id := range f.Production {
		if ou[id] != "Root/Production" {
			t.Errorf("Discover: account %s OU = %q, want Root/Production", id, ou[id])
		}
	}
	if len(accts) != 7 { // the management account and six members
		t.Errorf("Discover: %d accounts, want 7", len(accts))
	}
	for _, a := range accts {
		if a.ID == f.Sandbox[1] && a.Tags["env"] != "sandbox" {
			t.Errorf("Discover: tags of %s = %v, want env=sandbox", a.ID, a.Tags)
		}
	}

	// Include the two OUs, exclude one sandbox account.
	sel := Select(accts, Filter{OUs: []string{"Sandbox", "Root/Production"}}, Filter{Accounts: []string{f.Sandbox[2]}})
	var ids []string
	for _, a := range sel {
		ids = append(ids, a.ID)
	}
	want := []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1], f.NoRole}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("Select = %v, want %v", ids, want)
	}

	as := &Assumer{Base: f.Cfg, Role: orgtest.Role, ExternalID: "ext-1"}
	res, errs := Scan(ctx, ScanOptions{Assumer: as, Accounts: sel, Session: SessionName("parapet-scan", "test"), Concurrency: 3,
		Inventory: awsapi.Options{Regions: []string{"us-east-1"}}})
	var denied []string
	for _, e := range errs {
		if ae, ok := e.(*AccountError); ok {
			denied = append(denied, ae.Account.ID)
			if !strings.Contains(ae.Error(), f.NoRole) || !strings.Contains(ae.Error(), "Root/Production") {
				t.Errorf("AccountError %q: want the account id and its OU", ae.Error())
			}
		}
	}
	if !slices.Equal(denied, []string{f.NoRole}) {
		t.Errorf("accounts not assumed = %v, want [%s] (errors: %v)", denied, f.NoRole, errs)
	}
	buckets := map[string][2]string{}
	seen := map[string]bool{}
	for _, r := range res {
		seen[r.Account] = true
		if r.Type == "aws_s3_bucket" {
			o, _ := r.Attrs[AttrOU].(string)
			buckets[r.Name] = [2]string{r.Account, o}
		}
	}
	if got := buckets[f.PublicBucket]; got != [2]string{f.Sandbox[0], "Root/Sandbox"} {
		t.Errorf("bucket %s: account, OU = %v, want %s Root/Sandbox", f.PublicBucket, got, f.Sandbox[0])
	}
	if got := buckets[f.Private]; got != [2]string{f.Production[0], "Root/Production"} {
		t.Errorf("bucket %s: account, OU = %v, want %s Root/Production", f.Private, got, f.Production[0])
	}
	if len(buckets) != 2 {
		t.Errorf("buckets %v: want only the two the member accounts hold", buckets)
	}
	for _, id := range []string{f.Sandbox[0], f.Sandbox[1], f.Production[0], f.Production[1]} {
		if !seen[id] {
			t.Errorf("no resource of account %s", id)
		}
	}
	if seen[f.NoRole] || seen[f.Sandbox[2]] || seen["123456789012"] {
		t.Errorf("resources of an account not scanned: %v", seen)
	}

	// The session Parapet assumed carries its name.
	id, err := sts.NewFromConfig(as.Config(f.Sandbox[0], "", SessionName("parapet-scan", "test"))).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(id.Arn); !strings.HasSuffix(arn, "/"+orgtest.Role+"/parapet-scan-test") || aws.ToString(id.Account) != f.Sandbox[0] {
		t.Errorf("caller identity %s in %s, want the role session parapet-scan-test in %s", arn, aws.ToString(id.Account), f.Sandbox[0])
	}
}

// A new account in an included OU changes the watched list.
func TestWatcherPoll(t *testing.T) {
	f := orgtest.New(t)
	ctx := context.Background()
	inv := &Inventory{}
	w := &Watcher{Base: f.Cfg, Include: Filter{OUs: []string{"Sandbox"}}, Inventory: inv}
	sandboxScope := Scope{OUs: []string{"Sandbox"}}
	if got := w.Latest(); got != nil {
		t.Errorf("Latest before a poll = %v, want nil", got)
	}
	if got, ch, err := w.Poll(ctx); err != nil || !ch || len(got) != 3 {
		t.Fatalf("first Poll = %d accounts, changed %v, %v; want 3, true", len(got), ch, err)
	}
	if got := w.Latest(); len(got) != 3 || !slices.ContainsFunc(got, func(a Account) bool { return a.ID == f.Sandbox[0] && a.OU == "Root/Sandbox" }) {
		t.Errorf("Latest after a poll = %v", got)
	}
	none := &Watcher{Base: f.Cfg, Include: Filter{OUs: []string{"Nowhere"}}}
	if _, _, err := none.Poll(ctx); err != nil || none.Latest() == nil || len(none.Latest()) != 0 {
		t.Errorf("Latest of a poll that included nothing = %#v, %v; want an empty list", none.Latest(), err)
	}
	if _, ch, err := w.Poll(ctx); err != nil || ch {
		t.Errorf("second Poll: changed %v, %v; want no change", ch, err)
	}
	oc := organizations.NewFromConfig(f.Cfg)
	ca, err := oc.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("late"), Email: aws.String("late@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ch, err := w.Poll(ctx); err != nil || ch {
		t.Errorf("Poll after an account joined the root: changed %v, %v; want no change (not in Sandbox)", ch, err)
	}
	late := aws.ToString(ca.CreateAccountStatus.AccountId)
	if a, ok := inv.Resolve(late); !ok || a.OU != "Root" || sandboxScope.Matches(late, inv.Resolve) {
		t.Errorf("inventory after the account joined the root: %+v, %v; want it known, in Root, outside a Sandbox scope", a, ok)
	}
	roots, _ := oc.ListRoots(ctx, &organizations.ListRootsInput{})
	ous, _ := oc.ListOrganizationalUnitsForParent(ctx, &organizations.ListOrganizationalUnitsForParentInput{ParentId: roots.Roots[0].Id})
	var sandbox *string
	for _, o := range ous.OrganizationalUnits {
		if aws.ToString(o.Name) == "Sandbox" {
			sandbox = o.Id
		}
	}
	if _, err := oc.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: ca.CreateAccountStatus.AccountId, SourceParentId: roots.Roots[0].Id, DestinationParentId: sandbox}); err != nil {
		t.Fatal(err)
	}
	got, ch, err := w.Poll(ctx)
	if err != nil || !ch || len(got) != 4 {
		t.Errorf("Poll after an account moved into Sandbox = %d accounts, changed %v, %v; want 4, true", len(got), ch, err)
	}
	if !sandboxScope.Matches(late, inv.Resolve) || len(inv.Accounts()) != 8 {
		t.Errorf("inventory after the move: a Sandbox scope does not cover %s (%d accounts)", late, len(inv.Accounts()))
	}
}

package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/parapet-sec/parapet/internal/detect"
	"github.com/parapet-sec/parapet/internal/event"
)

func finding(id, arn, level string, at time.Time, tactics ...string) *detect.Finding {
	return &detect.Finding{ID: id, Title: "finding " + id, Level: level, Time: at, Actor: event.Actor{ARN: arn},
		Attack: detect.Attack{Tactics: tactics}, Cloud: event.Cloud{Account: "111122223333"}}
}

func TestIncidents(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := New(time.Hour)
	a, _ := c.Add(finding("f1", "arn:aws:iam::1:user/mallory", "low", t0, "discovery"))
	b, _ := c.Add(finding("f2", "arn:aws:iam::1:user/mallory", "high", t0.Add(20*time.Minute), "persistence"))
	other, _ := c.Add(finding("f3", "arn:aws:iam::1:user/bob", "medium", t0.Add(21*time.Minute)))
	later, _ := c.Add(finding("f4", "arn:aws:iam::1:user/mallory", "low", t0.Add(3*time.Hour)))
	if a.ID != b.ID || a.ID == other.ID || a.ID == later.ID {
		t.Fatalf("grouping: %s %s %s %s", a.ID, b.ID, other.ID, later.ID)
	}
	if len(a.Findings) != 2 || a.Title != "mallory: finding f1 → finding f2" || a.Headline != "finding f2" || a.Level != "high" ||
		a.Summary != "mallory: finding f1; then mallory: finding f2" {
		t.Errorf("incident: %+v", a)
	}
	if fmt.Sprint(a.Tactics) != "[persistence discovery]" {
		t.Errorf("tactics in kill-chain order: %v", a.Tactics)
	}
	if a.Risk <= other.Risk || len(a.Why) != 3 || LevelOf(a.Risk) != a.Level || LevelOf(other.Risk) != other.Level || other.Level != "medium" {
		t.Errorf("risk %v (why %v) should exceed a lone medium's %v", a.Risk, a.Why, other.Risk)
	}
	// The same finding again changes nothing.
	before := a.Risk
	if in, fresh := c.Add(finding("f2", "arn:aws:iam::1:user/mallory", "high", t0.Add(20*time.Minute))); fresh || in.ID != a.ID || a.Risk != before || len(a.Findings) != 2 {
		t.Errorf("a repeated finding was counted: %+v", in)
	}
}

// Replaying the same findings builds the same incidents, and a restored
// correlator continues them.
func TestDeterministicAndRestore(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	fs := []*detect.Finding{
		finding("f1", "arn:aws:iam::1:user/m", "low", t0, "discovery"),
		finding("f2", "arn:aws:iam::1:user/m", "high", t0.Add(time.Minute), "exfiltration"),
	}
	c1, c2 := New(time.Hour), New(time.Hour)
	i1, _ := c1.Add(fs[0])
	i2, _ := c2.Add(fs[0])
	if i1.ID != i2.ID {
		t.Fatal("incident ids differ between runs")
	}
	c3 := New(time.Hour)
	c3.Restore([]*Incident{i1})
	i3, fresh := c3.Add(fs[1])
	if !fresh || i3.ID != i1.ID || len(i3.Findings) != 2 {
		t.Errorf("restored correlator did not continue the incident: %+v", i3)
	}
	if _, fresh := c3.Add(fs[0]); fresh {
		t.Error("a restored finding counted again")
	}
}

// TestSignals: an informational finding never opens an incident by
// itself; it joins one its principal's alerting finding opens, before or
// after it, within the window.
func TestSignals(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	mallory, bob := "arn:aws:iam::1:user/mallory", "arn:aws:iam::1:user/bob"
	c := New(time.Hour)
	if in, fresh := c.Add(finding("s1", mallory, "informational", t0, "discovery")); in != nil || !fresh {
		t.Fatalf("a lone signal: incident %+v, fresh %v; want none, fresh", in, fresh)
	}
	if in, fresh := c.Add(finding("s1", mallory, "informational", t0, "discovery")); in != nil || fresh {
		t.Errorf("the same signal again: incident %+v, fresh %v; want none, not fresh", in, fresh)
	}
	c.Add(finding("s0", mallory, "informational", t0.Add(-2*time.Hour))) // outside the window
	c.Add(finding("s2", bob, "informational", t0.Add(time.Minute)))      // another principal
	in, fresh := c.Add(finding("h1", mallory, "high", t0.Add(10*time.Minute), "persistence"))
	if in == nil || !fresh {
		t.Fatalf("the high finding opened no incident")
	}
	if got := fmt.Sprint(c.Attached()); got != "[s1]" {
		t.Errorf("attached %s, want [s1]", got)
	}
	if fmt.Sprint(in.Findings) != "[s1 h1]" || in.Count != 2 || !in.First.Equal(t0) || in.Level != "high" || in.Headline != "finding h1" ||
		in.Levels["informational"] != 1 || fmt.Sprint(in.Tactics) != "[persistence discovery]" {
		t.Errorf("incident %+v", in)
	}
	// A later signal of the same principal joins the open incident.
	if j, fresh := c.Add(finding("s3", mallory, "informational", t0.Add(20*time.Minute))); j == nil || j.ID != in.ID || !fresh || len(c.Attached()) != 0 {
		t.Errorf("a signal after the incident opened: %+v", j)
	}
	// Replaying the first signal finds its incident.
	if j, fresh := c.Add(finding("s1", mallory, "informational", t0)); fresh || j == nil || j.ID != in.ID {
		t.Errorf("replayed attached signal: %+v, fresh %v", j, fresh)
	}
	// Bob's signal still waits; a restored correlator takes it back.
	c2 := New(time.Hour)
	c2.RestoreSignals([]*detect.Finding{finding("s2", bob, "informational", t0.Add(time.Minute))})
	c2.Add(finding("m1", bob, "medium", t0.Add(30*time.Minute)))
	if fmt.Sprint(c2.Attached()) != "[s2]" {
		t.Errorf("restored signal not attached: %v", c2.Attached())
	}
}

// TestWhoList: a story names its principals and counts its instances.
func TestWhoList(t *testing.T) {
	for _, tc := range []struct {
		who  []string
		more int
		want string
	}{
		{[]string{"bob", "i-0a1f2e3d4c5b60001", "i-0a1f2e3d4c5b60002"}, 0, "bob, 2 instances"},
		{[]string{"frank", "erin", "i-0c0ffee0000000001"}, 0, "frank, erin, i-0c0ffee0000000001"},
		{[]string{"a", "b", "c", "d"}, 0, "a, b and 2 more"},
		{[]string{"i-0c0ffee0000000001", "i-0c0ffee0000000002"}, 6, "8 instances"},
		{[]string{"203.0.113.9", "203.0.113.10"}, 0, "2 addresses"},
	} {
		if got := whoList(tc.who, tc.more); got != tc.want {
			t.Errorf("whoList(%v, %d) = %q, want %q", tc.who, tc.more, got, tc.want)
		}
	}
}

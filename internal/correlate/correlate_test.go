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
	if len(a.Findings) != 2 || a.Title != "finding f2 (+1 more)" || a.Level != "high" {
		t.Errorf("incident: %+v", a)
	}
	if fmt.Sprint(a.Tactics) != "[persistence discovery]" {
		t.Errorf("tactics in kill-chain order: %v", a.Tactics)
	}
	if a.Risk <= other.Risk || len(a.Why) != 2 {
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

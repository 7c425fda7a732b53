package resource

import "testing"

func TestRDSMonitoring(t *testing.T) {
	for _, c := range []struct {
		cluster          bool
		interval, engine any
		want             any
	}{
		{false, nil, "postgres", false},
		{false, 0.0, "postgres", false},
		{false, 60.0, "postgres", true},
		{false, "15", nil, true},
		{false, int32(0), nil, false},
		{false, Unknown, nil, Unknown},
		{true, nil, nil, true},                 // the engine defaults to Aurora
		{true, nil, "aurora-postgresql", true}, // monitored per instance
		{true, nil, "postgres", false},         // a Multi-AZ DB cluster
		{true, 30.0, "postgres", true},
		{true, nil, Unknown, Unknown},
	} {
		if got := RDSMonitoring(c.cluster, c.interval, c.engine); got != c.want {
			t.Errorf("RDSMonitoring(%v, %v, %v) = %v, want %v", c.cluster, c.interval, c.engine, got, c.want)
		}
	}
}

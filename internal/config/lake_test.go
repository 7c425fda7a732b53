package config

import (
	"strings"
	"testing"
	"time"
)

func TestLake(t *testing.T) {
	c, err := Parse([]byte("data: /srv/parapet\nlake:\n  roll_size: 8MiB\n  roll_age: 5m\n  retention: 90d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Lake.RollSize != 8<<20 || c.Lake.RollAge.D() != 5*time.Minute || c.Lake.Location(c.Data) != "/srv/parapet/lake" {
		t.Errorf("lake = %+v at %s", c.Lake, c.Lake.Location(c.Data))
	}
	if d, _ := ParseAge(c.Lake.Retention); d != 90*24*time.Hour {
		t.Errorf("retention %q = %v, want 90 days", c.Lake.Retention, d)
	}
	if d := Default().Lake; d.RollSize != 64<<20 || d.RollAge.D() != 15*time.Minute || d.Location("parapet-data") != "parapet-data/lake" {
		t.Errorf("default lake = %+v", d)
	}
	if c, err := Parse([]byte("lake:\n  s3: s3://sec-lake/parapet\n")); err != nil || c.Lake.Location("x") != "s3://sec-lake/parapet" {
		t.Errorf("s3 lake: %v, %+v", err, c)
	}
	for body, want := range map[string]string{
		"lake:\n  retention: forever\n":             `line 2: lake.retention: "forever" is not an age`,
		"lake:\n  retention: 0d\n":                  `line 2: lake.retention: "0d" is not an age`,
		"lake:\n  s3: sec-lake/parapet\n":           `line 2: lake.s3: "sec-lake/parapet": want s3://bucket/prefix`,
		"lake:\n  path: /l\n  s3: s3://b/p\n":       "lake: a path or s3, not both",
		"lake:\n  path: s3://b/p\n":                 "line 2: lake.path: an S3 location goes in lake.s3",
		"lake:\n  roll_size: big\n":                 `line 2: lake.roll_size: "big" is not a size`,
		"lake:\n  rol_age: 5m\n":                    "lake.rol_age: unknown key; did you mean roll_age?",
		"lake:\n  roll_age: 5m\n  retention: 12x\n": `line 3: lake.retention: "12x" is not an age`,
		"lake:\n  retention: 2w\n  roll_size: -1\n": `line 3: lake.roll_size`,
		"lake:\n  retention: 36h\n  s3: 's3://'\n":  `lake.s3: "s3://": want s3://bucket/prefix`,
	} {
		_, err := Parse([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", body, err, want)
		}
	}
	for s, want := range map[string]time.Duration{"1d": 24 * time.Hour, "12w": 84 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if d, err := ParseAge(s); err != nil || d != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", s, d, err, want)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"90d", "12w", "36h", "0d", "-1d", "d", "99999999999d", "1h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseAge(s); err == nil && d <= 0 {
			t.Fatalf("ParseAge(%q) = %v, want a positive age or an error", s, d)
		}
	})
}

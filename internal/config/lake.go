package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Lake configures the security data lake: every event as OCSF Parquet in
// the AWS Security Lake layout.
type Lake struct {
	Path      string   `yaml:"path" json:"path" doc:"the lake's folder (default DATA/lake)"`
	S3        string   `yaml:"s3" json:"s3" doc:"or an S3 bucket and prefix (s3://bucket/prefix) to keep it in"`
	RollSize  ByteSize `yaml:"roll_size" json:"roll_size" doc:"a partition's buffered events are written as a file at this size, before compression (default 64MiB)"`
	RollAge   Duration `yaml:"roll_age" json:"roll_age" doc:"or once the oldest has waited this long (default 15m)"`
	Retention string   `yaml:"retention" json:"retention" doc:"days of events kept, applied by lake compact, lake prune and serve's compaction: 90d, 12w or a duration (empty: keep everything)"`
	// Serve's lake feed.
	Off          bool     `yaml:"off" json:"off" doc:"serve keeps no lake (the events behind findings are still stored)"`
	FlushEvery   Duration `yaml:"flush_every" json:"flush_every" doc:"serve writes buffered events as files and trims the intake spool this often (default 5m)"`
	CompactEvery Duration `yaml:"compact_every" json:"compact_every" doc:"serve merges the lake's small files and applies retention this often (default 1h)"`
	// Retroactive detection.
	RetroLookback Duration `yaml:"retro_lookback" json:"retro_lookback" doc:"serve runs new or changed rules, and new indicators, over this much of the lake's history and files what they find as retro findings (default 720h; playbooks wait for approval on them unless approval.required is false)"`
	RetroOff      bool     `yaml:"retro_off" json:"retro_off" doc:"no retroactive detection"`
}

// Location is where the lake is: s3, else path, else DATA/lake.
func (l Lake) Location(data string) string {
	switch {
	case l.S3 != "":
		return l.S3
	case l.Path != "":
		return l.Path
	}
	return filepath.Join(data, "lake")
}

func (l *Lake) fill() {
	if l.RollSize == 0 {
		l.RollSize = 64 << 20
	}
	if l.RollAge == 0 {
		l.RollAge = Duration(15 * time.Minute)
	}
	if l.FlushEvery == 0 {
		l.FlushEvery = Duration(5 * time.Minute)
	}
	if l.CompactEvery == 0 {
		l.CompactEvery = Duration(time.Hour)
	}
	if l.RetroLookback == 0 {
		l.RetroLookback = Duration(30 * 24 * time.Hour)
	}
}

func (l *Lake) check(bad func(path, format string, args ...any)) {
	if l.S3 != "" {
		bucket, _, _ := strings.Cut(strings.TrimPrefix(l.S3, "s3://"), "/")
		if !strings.HasPrefix(l.S3, "s3://") || bucket == "" {
			bad("lake.s3", "%q: want s3://bucket/prefix", l.S3)
		}
		if l.Path != "" {
			bad("lake", "a path or s3, not both")
		}
	}
	if strings.HasPrefix(l.Path, "s3://") {
		bad("lake.path", "an S3 location goes in lake.s3")
	}
	if l.Retention != "" {
		if _, err := ParseAge(l.Retention); err != nil {
			bad("lake.retention", "%v", err)
		}
	}
}

// ParseAge reads an age: days (90d), weeks (12w) or a Go duration (36h).
func ParseAge(s string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n > 0 && n < 1<<20 {
			return time.Duration(n) * unit, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not an age (like 90d, 12w, 36h)", s)
}

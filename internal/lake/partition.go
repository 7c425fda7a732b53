package lake

import (
	"strings"
	"time"

	"github.com/parapet-sec/parapet/internal/event"
)

// Version is the lake's source version: the second level under ext/,
// where Security Lake puts a custom source's version.
const Version = "1.0"

// Partition is one folder of a table: region, account and UTC day, as
// Security Lake partitions custom sources.
type Partition struct {
	Table   string // api_activity, network_activity, …
	Region  string
	Account string
	Day     string // YYYYMMDD, UTC
}

// Prefix is the partition's folder, relative to the lake's root:
// ext/<table>/<version>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/.
func (p Partition) Prefix() string {
	return "ext/" + p.Table + "/" + Version + "/region=" + p.Region + "/accountId=" + p.Account + "/eventDay=" + p.Day + "/"
}

// PartitionOf is the partition e is written to. A missing region or
// account is "unknown"; characters that cannot be in a partition value
// become "_".
func PartitionOf(e *event.Event) Partition {
	return Partition{
		Table:   Table(e.Class),
		Region:  partValue(e.Cloud.Region),
		Account: partValue(e.Cloud.Account),
		Day:     e.Time.UTC().Format("20060102"),
	}
}

func partValue(s string) string {
	if s == "" {
		return "unknown"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !partChar(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i := range b {
		if !partChar(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func partChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
}

// parseKey splits a file's key into its partition and file name; false
// when the key is not laid out as the lake lays out files.
func parseKey(key string) (Partition, string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 7 || parts[0] != "ext" || parts[2] != Version {
		return Partition{}, "", false
	}
	p := Partition{Table: parts[1]}
	var ok1, ok2, ok3 bool
	p.Region, ok1 = strings.CutPrefix(parts[3], "region=")
	p.Account, ok2 = strings.CutPrefix(parts[4], "accountId=")
	p.Day, ok3 = strings.CutPrefix(parts[5], "eventDay=")
	if !ok1 || !ok2 || !ok3 || len(p.Day) != 8 || !strings.HasSuffix(parts[6], ".parquet") {
		return Partition{}, "", false
	}
	return p, parts[6], true
}

// dayTime is the start of a partition's day; false when Day is not a date.
func (p Partition) dayTime() (time.Time, bool) {
	t, err := time.Parse("20060102", p.Day)
	return t, err == nil
}

package lake

import (
	"github.com/parapet-sec/parapet/internal/config"
)

// FromConfig is the writer options of serve's lake section (data: serve's
// data folder, where the lake is by default). Retention is applied by
// Compact and Prune, not by the writer.
func FromConfig(c config.Lake, data string) Options {
	return Options{Path: c.Location(data), RollSize: int64(c.RollSize), RollAge: c.RollAge.D()}
}

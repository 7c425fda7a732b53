package resource

import (
	"strconv"
	"strings"
)

// RDSMonitoring is an RDS database's enhanced_monitoring attribute, the
// same in every source: whether its monitoring interval is above 0 (nil
// when the source does not set one). An Aurora cluster is monitored per
// instance, and each instance is checked on its own, so a cluster
// without an interval is monitored unless it is a Multi-AZ DB cluster (a
// non-Aurora engine; the engine defaults to Aurora). Unknown when a value
// it needs is not known statically.
func RDSMonitoring(cluster bool, interval, engine any) any {
	if interval == nil || interval == "" {
		if !cluster {
			return false
		}
		e, _ := engine.(string)
		if e == Unknown {
			return Unknown
		}
		return e == "" || strings.HasPrefix(strings.ToLower(e), "aurora")
	}
	switch x := interval.(type) {
	case float64:
		return x > 0
	case int:
		return x > 0
	case int32:
		return x > 0
	case int64:
		return x > 0
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return f > 0
		}
	}
	return Unknown
}

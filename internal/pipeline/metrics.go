package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus series (parapet_*).
type Metrics struct {
	Spooled    prometheus.Gauge
	Events     prometheus.Counter
	BadRecords prometheus.Counter
	Duplicates prometheus.Counter
	Findings   *prometheus.CounterVec
	Incidents  prometheus.Counter
	Stage      *prometheus.HistogramVec
	MTTD       prometheus.Histogram
	Latency    prometheus.Histogram
	Suppressed prometheus.Counter
}

// NewMetrics makes the series and registers them with reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Spooled:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "parapet_intake_spooled", Help: "Intake bodies acknowledged and not yet processed."}),
		Events:     prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_events_total", Help: "Events decoded and detected (each record once)."}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_duplicate_records_total", Help: "Records passed over because the same record (source, id, event time) was detected already."}),
		BadRecords: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_bad_records_total", Help: "Records that could not be decoded (reported, skipped)."}),
		Findings:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parapet_findings_total", Help: "Findings stored, by the level they were first stored at (a behavioural session's finding grows, and may change level, after it is counted)."}, []string{"level"}),
		Incidents:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_incidents_total", Help: "Incidents opened."}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parapet_stage_seconds", Help: "Time per intake body in each pipeline stage.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"stage"}),
		Suppressed: prometheus.NewCounter(prometheus.CounterOpts{Name: "parapet_findings_suppressed_total", Help: "Findings a suppression matched (stored, not filed, not acted on)."}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parapet_intake_latency_seconds", Help: "A body acknowledged to its findings and incidents stored.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		MTTD: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parapet_detection_delay_seconds", Help: "Event time to finding stored (MTTD).",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 12)}),
	}
	if reg != nil {
		reg.MustRegister(m.Spooled, m.Events, m.Duplicates, m.BadRecords, m.Findings, m.Incidents, m.Stage, m.MTTD, m.Latency, m.Suppressed)
	}
	return m
}

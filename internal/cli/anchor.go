package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-sec/parapet/internal/audit"
	"github.com/parapet-sec/parapet/internal/config"
)

// serveAnchor is serve's audit anchor: DATA/audit.anchor, signed with
// audit.anchor_key when set, each anchor logged and exported as
// parapet_audit_anchor_* (copies outside the store and the data folder).
// The returned key verifies the anchors (nil when unsigned).
func serveAnchor(c *config.Config, reg prometheus.Registerer, log *slog.Logger) (*audit.Anchorer, ed25519.PublicKey, error) {
	x := &audit.Anchorer{Path: filepath.Join(c.Data, audit.AnchorFile)}
	var pub ed25519.PublicKey
	if c.Audit.AnchorKey != "" {
		b, err := config.ReadSecret(c.Audit.AnchorKey)
		if err != nil {
			return nil, nil, fmt.Errorf("audit.anchor_key: %w", err)
		}
		priv, p, err := audit.ParseKey([]byte(b))
		if err != nil {
			return nil, nil, fmt.Errorf("audit.anchor_key: %w", err)
		}
		if priv == nil {
			return nil, nil, errors.New("audit.anchor_key: a public key cannot sign: give the private key")
		}
		x.Key, pub = priv, p
	}
	seq := prometheus.NewGauge(prometheus.GaugeOpts{Name: "parapet_audit_anchor_seq", Help: "The audit record last anchored."})
	at := prometheus.NewGauge(prometheus.GaugeOpts{Name: "parapet_audit_anchor_timestamp_seconds", Help: "When the audit chain was last anchored."})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "parapet_audit_anchor_info", Help: "The hash of the audit record last anchored (1)."}, []string{"seq", "hash"})
	reg.MustRegister(seq, at, info)
	x.OnAnchor = func(a audit.Anchor) {
		seq.Set(float64(a.Seq))
		at.Set(float64(a.Time.UnixNano()) / 1e9)
		info.Reset()
		info.WithLabelValues(fmt.Sprint(a.Seq), a.Hash).Set(1)
		log.Info("audit anchor", "seq", a.Seq, "hash", a.Hash, "signed", a.Sig != "", "file", x.Path)
	}
	return x, pub, nil
}

// runAnchor anchors the head on serve's schedule until ctx ends, then
// once more.
func runAnchor(ctx context.Context, x *audit.Anchorer, c *config.Config, log *slog.Logger) {
	x.Run(ctx, c.Audit.AnchorInterval.D(), int64(c.Audit.AnchorEvery), func(err error) {
		log.Error("audit anchor failed", "err", err)
	})
}

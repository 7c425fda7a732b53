package natsjs

import "testing"

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"nats://alice:s3cret@nats.internal:4222": "nats://xxxxx@nats.internal:4222",
		"nats://t0ken@nats.internal:4222":        "nats://xxxxx@nats.internal:4222",
		"nats://nats.internal:4222":              "nats://nats.internal:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://parapet:pg-s3cret@db.internal:5432/parapet", "postgres://parapet:xxxxx@db.internal:5432/parapet"},
		{"postgres://parapet@db.internal/parapet?password=pg-s3cret&sslmode=require", "postgres://parapet@db.internal/parapet?password=xxxxx&sslmode=require"},
		{"postgresql://db/parapet?sslpassword=k3y-pass&sslkey=/k.pem&user=p", "postgresql://db/parapet?sslkey=xxxxx&sslpassword=xxxxx&user=p"},
		{"postgres://db/parapet?PassWord=x1&Token=x2&api_key=x3&client_secret=x4&X-Amz-Signature=x5&X-Amz-Credential=x6", "postgres://db/parapet?PassWord=xxxxx&Token=xxxxx&X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&api_key=xxxxx&client_secret=xxxxx"},
		{"nats://alice:s3cret@nats.internal:4222", "nats://xxxxx@nats.internal:4222"},
		{"nats://t0ken@nats.internal:4222", "nats://xxxxx@nats.internal:4222"},
		{"tls://t0ken@nats.internal:4222", "tls://xxxxx@nats.internal:4222"},
		{"nats://nats.internal:4222", "nats://nats.internal:4222"},
		{"https://taxii.example.com/api1/collections/x/?token=t4xii", "https://taxii.example.com/api1/collections/x/?token=xxxxx"},
		{"parapet-data/parapet.db", "parapet-data/parapet.db"},
		{"host=db user=parapet password=pg-s3cret sslmode=require", "host=db user=parapet password=xxxxx sslmode=require"},
		{"host=db password='pg s3cret' user=p", "host=db password=xxxxx user=p"},
		{"postgres://u:p%zz@db/x", "postgres://xxxxx@db/x"},
		{"", ""},
	} {
		got := URL(tc.in)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"s3cret", "t0ken", "k3y-pass", "t4xii", "x1", "x5", "p%zz"} {
			if strings.Contains(got, secret) {
				t.Errorf("URL(%q) = %q keeps %q", tc.in, got, secret)
			}
		}
	}
}

func FuzzURL(f *testing.F) {
	f.Add("postgres://u:secretvalue@h/db?password=secretvalue")
	f.Add("host=h password=secretvalue")
	f.Fuzz(func(t *testing.T, s string) {
		_ = URL(s) // never panics
	})
}

package natsjs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parapet bus"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// publish connects as a plain client would and publishes to the intake
// stream.
func publish(url string, a Auth) error {
	opts, err := a.options()
	if err != nil {
		return err
	}
	nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.Publish(ctx, intakePrefix+"cloudtrail", []byte(`{"Records":[]}`))
	return err
}

// An embedded server refuses every client that does not present its
// credentials (none, or wrong ones) and serves those that do: a token, an
// NKey, the token it generates when none is configured, TLS with a token.
// The credentials never reach the log or an error.
func TestEmbeddedRequiresCredentials(t *testing.T) {
	seed := func() string {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		s, _ := kp.Seed()
		return string(s)
	}
	cert, key := selfSigned(t)
	good, other := seed(), seed()
	cases := []struct {
		name   string
		listen string
		auth   Auth            // configured
		wrong  []Auth          // refused
		secret string          // never in the log
		client func(Auth) Auth // what a client adds to the server's Auth (TLS trust)
	}{
		{"token", "127.0.0.1:0", Auth{Token: "t0ken-abcdef"}, []Auth{{}, {Token: "wrong"}, {NKeySeed: good}}, "t0ken-abcdef", nil},
		{"nkey", "127.0.0.1:0", Auth{NKeySeed: good}, []Auth{{}, {Token: "x"}, {NKeySeed: other}}, good, nil},
		{"generated token", "", Auth{}, []Auth{{}, {Token: "guess"}}, "", nil},
		{"token on every address", "0.0.0.0:0", Auth{Token: "t0ken-everywhere"}, []Auth{{}}, "t0ken-everywhere", nil},
		{"tls and token", "127.0.0.1:0", Auth{Token: "t0ken-tls", TLSCert: cert, TLSKey: key}, []Auth{{TLSCA: cert}, {Token: "no", TLSCA: cert}}, "t0ken-tls",
			func(a Auth) Auth { return Auth{Token: a.Token, TLSCA: cert} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Embedded(EmbeddedOptions{Listen: c.listen, Dir: dir, Auth: c.auth})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			client := s.Auth
			if c.client != nil {
				client = c.client(s.Auth)
			}
			for _, w := range c.wrong {
				err := publish(s.URL, w)
				if err == nil {
					t.Errorf("%v: a client with wrong or no credentials published to the intake", w)
				} else if c.secret != "" && strings.Contains(err.Error(), c.secret) {
					t.Errorf("the error quotes the secret: %v", err)
				}
			}
			var logs bytes.Buffer
			b, err := Connect(context.Background(), Options{URL: s.URL, Auth: client, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("a worker with the credentials: %v", err)
			}
			defer b.Close()
			if err := b.PublishIntake(context.Background(), "cloudtrail", []byte(`{"Records":[]}`), ""); err != nil {
				t.Fatalf("publish with the credentials: %v", err)
			}
			slog.New(slog.NewTextHandler(&logs, nil)).Info("bus", "auth", client)
			if c.secret != "" && strings.Contains(logs.String(), c.secret) {
				t.Errorf("the log shows the secret:\n%s", logs.String())
			}
			if c.auth.Credentials() {
				return
			}
			// The generated token is kept for this machine's workers, and
			// kept across restarts.
			b2, err := os.ReadFile(filepath.Join(dir, "token"))
			if err != nil || strings.TrimSpace(string(b2)) != s.Auth.Token || len(s.Auth.Token) < 32 {
				t.Fatalf("token file: %q, %v", b2, err)
			}
			if fi, _ := os.Stat(filepath.Join(dir, "token")); fi.Mode().Perm() != 0o600 {
				t.Errorf("token file mode %v", fi.Mode())
			}
			if strings.Contains(logs.String(), s.Auth.Token) {
				t.Errorf("the log shows the generated token")
			}
		})
	}
	// Beyond loopback without configured credentials: refused.
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:4222"} {
		if listen == ":0" {
			continue // an empty host is loopback
		}
		if s, err := Embedded(EmbeddedOptions{Listen: listen, Dir: t.TempDir()}); err == nil {
			s.Shutdown()
			t.Errorf("%s without credentials: started", listen)
		}
	}
	if s, err := Embedded(EmbeddedOptions{Listen: ":0", Dir: t.TempDir()}); err != nil {
		t.Errorf(":0 (loopback): %v", err)
	} else {
		if !strings.HasPrefix(s.URL, "nats://127.0.0.1:") {
			t.Errorf(":0 listens on %s, want loopback", s.URL)
		}
		s.Shutdown()
	}
}

func TestLoopback(t *testing.T) {
	for h, want := range map[string]bool{"": true, "localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"0.0.0.0": false, "::": false, "10.0.0.5": false, "nats.internal": false} {
		if got := Loopback(h); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", h, got, want)
		}
	}
}

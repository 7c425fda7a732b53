package natsjs

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Auth is how workers prove who they are to the bus, and what the
// embedded server requires of them: a token, or an NKey (the seed signs
// the server's nonce; the server knows only the public key). TLS, when
// set, encrypts the connection: the embedded server serves TLSCert and
// TLSKey, workers trust TLSCA (the system's roots when empty) and present
// TLSCert and TLSKey when a server asks for a client certificate.
type Auth struct {
	Token                  string
	NKeySeed               string // a user seed, SU…
	TLSCert, TLSKey, TLSCA string // files
}

// Credentials says whether a token or an NKey is set.
func (a Auth) Credentials() bool { return a.Token != "" || a.NKeySeed != "" }

// LogValue names the kinds of credentials, never their values.
func (a Auth) LogValue() slog.Value {
	kind := "none"
	switch {
	case a.NKeySeed != "":
		kind = "nkey"
	case a.Token != "":
		kind = "token"
	}
	return slog.GroupValue(slog.String("credentials", kind), slog.Bool("tls", a.TLSCert != "" || a.TLSCA != ""))
}

// options are the client options that present the credentials.
func (a Auth) options() ([]nats.Option, error) {
	var out []nats.Option
	switch {
	case a.Token != "" && a.NKeySeed != "":
		return nil, errors.New("give a token or an nkey seed, not both")
	case a.NKeySeed != "":
		kp, err := nkeys.FromSeed([]byte(a.NKeySeed))
		if err != nil {
			return nil, errors.New("the nkey seed is not a valid seed") // the error could quote it
		}
		pub, err := kp.PublicKey()
		if err != nil {
			return nil, errors.New("the nkey seed is not a valid user seed")
		}
		out = append(out, nats.Nkey(pub, kp.Sign))
	case a.Token != "":
		out = append(out, nats.Token(a.Token))
	}
	if a.TLSCert != "" || a.TLSCA != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if a.TLSCA != "" {
			pem, err := os.ReadFile(a.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("tls ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls ca %s: no PEM certificate in it", a.TLSCA)
			}
			cfg.RootCAs = pool
		}
		if a.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
			if err != nil {
				return nil, fmt.Errorf("tls certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		out = append(out, nats.Secure(cfg))
	}
	return out, nil
}

// serverTLS is the embedded server's TLS configuration (nil: none).
func (a Auth) serverTLS() (*tls.Config, error) {
	if a.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(a.TLSCert, a.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Loopback says whether a host (a name or an address; "" is taken as
// loopback, as Embedded does) is reachable only from this machine.
func Loopback(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// localToken reads the token kept in dir, or makes one there (mode 0600)
// for the workers of this machine to reference as file:DIR/token.
func localToken(dir string) (string, error) {
	path := filepath.Join(dir, "token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// Package secrets finds secrets hard-coded in infrastructure as code: a
// small set of formats that are secrets by their shape (AWS access keys,
// GitHub, Slack, Stripe and Google keys, private keys) and, only in
// attributes whose names say so, long high-entropy values. Precision
// comes first: references, interpolations, dynamic references and
// placeholders are never secrets, and the raw value never leaves the
// package — a Match carries the kind, where it was, and a redacted form.
package secrets

import (
	"math"
	"regexp"
	"strings"
)

// Kinds of secret, each reported by its own check.
const (
	AWSAccessKey    = "aws_access_key"       // an access key id with its secret key
	AWSSecretKey    = "aws_secret_key"       // a secret access key in an attribute named for a secret
	AWSExampleKey   = "aws_example_key"      // AWS's documented example keys (…EXAMPLE, …EXAMPLEKEY)
	GitHubToken     = "github_token"         // ghp_, gho_, ghu_, ghs_, ghr_, github_pat_
	SlackToken      = "slack_token"          // xoxb-, xoxa-, xoxp-, xoxr-, xoxs-
	StripeKey       = "stripe_live_key"      // sk_live_
	PrivateKey      = "private_key"          // -----BEGIN … PRIVATE KEY----- with a body
	GoogleAPIKey    = "google_api_key"       // AIza…
	GenericSecret   = "generic_secret"       // a long high-entropy value in a password/secret/token/api_key attribute
	minGenericLen   = 20                     // shorter values are not judged by entropy
	GenericEntropy  = 3.5                    // bits per character a generic secret must reach
	pairWindow      = 300                    // bytes between an access key id and its secret key in one value
	exampleKeyIDEnd = "EXAMPLE"              // AWS documents its example key ids with this suffix
	exampleSecEnd   = "EXAMPLEKEY"           // and its example secret keys with this one
	sep             = `(?:^|[^A-Za-z0-9/+])` // what may precede a key
)

// Kinds lists every kind Detect reports.
var Kinds = []string{AWSAccessKey, AWSSecretKey, AWSExampleKey, GitHubToken, SlackToken, StripeKey, PrivateKey, GoogleAPIKey, GenericSecret}

// Match is one secret found in a value. It never holds the value.
type Match struct {
	Kind     string
	Redacted string // AKIA…MPLE, ghp_… (40 chars), (40 chars)
	Line     int    // line within the value, from 0
	Note     string // "AWS's documented example key", "with its secret key on line 2"
	example  bool   // an AWS key id or secret key in AWS's documented example form
	lone     bool   // an AWS secret key with no key id in its value
}

var (
	keyIDRe     = regexp.MustCompile(sep + `((?:AKIA|ASIA)[A-Z2-7]{16})(?:$|[^A-Za-z0-9])`)
	secretKeyRe = regexp.MustCompile(sep + `([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])`)
	githubRe    = regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b`)
	slackRe     = regexp.MustCompile(`\b(xox[baprs]-[0-9]{6,}-[0-9A-Za-z-]{10,})\b`)
	stripeRe    = regexp.MustCompile(`\b(sk_live_[0-9A-Za-z]{24,})\b`)
	googleRe    = regexp.MustCompile(`\b(AIza[0-9A-Za-z_-]{35})(?:$|[^0-9A-Za-z_-])`)
	pemRe       = regexp.MustCompile(`-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----`)
	// An assignment in a script or settings text: NAME=value, NAME: value,
	// "NAME": "value".
	assignRe  = regexp.MustCompile(`(?m)(?:^|[\s;{,"'])([A-Za-z_][A-Za-z0-9_.-]{2,})["']?\s*[:=]\s*["']?([^\s"';,}]{16,})`)
	pemBodyRe = regexp.MustCompile(`^[\s\\n]*(?:[A-Za-z-]+: [^\n]*\n)*[\s\\n]*[A-Za-z0-9+/=\s\\n]{64,}`)
)

// awsKeyID is an access key id alone: a secret only with its secret key,
// which a caller may find elsewhere in the same block (Pair).
const awsKeyID = "aws_key_id"

// Detect finds the secrets in value, a string set on an attribute (or
// environment variable, or parameter) called name. A value that is a
// reference or a placeholder yields nothing.
func Detect(name, value string) []Match {
	var out []Match
	for _, m := range detect(name, value) {
		if m.Kind != awsKeyID {
			out = append(out, m)
		}
	}
	return out
}

func detect(name, value string) []Match {
	if len(value) < 16 || Reference(value) {
		return nil
	}
	var out []Match
	covered := map[int]bool{} // offsets of secret keys already paired with an id
	secretName := SecretName(name)

	ids := keyIDRe.FindAllStringSubmatchIndex(value, -1)
	secrets := secretKeyRe.FindAllStringSubmatchIndex(value, -1)
	for _, id := range ids {
		kid := value[id[2]:id[3]]
		if lowEntropy(kid[4:], 3.0) {
			continue
		}
		// The nearest plausible secret key in the same value.
		for _, s := range secrets {
			sk := value[s[2]:s[3]]
			if s[2] < id[2]-pairWindow || s[2] > id[3]+pairWindow || !secretKeyShape(sk) {
				continue
			}
			covered[s[2]] = true
			m := Match{Kind: AWSAccessKey, Redacted: redactKeyID(kid), Line: lineOf(value, id[2]), Note: "with its secret access key beside it"}
			if strings.HasSuffix(kid, exampleKeyIDEnd) || strings.HasSuffix(sk, exampleSecEnd) {
				m.Kind, m.Note = AWSExampleKey, "AWS's documented example key, not a live credential"
			}
			out = append(out, m)
			kid = ""
			break
		}
		if kid != "" {
			out = append(out, Match{Kind: awsKeyID, Redacted: redactKeyID(kid), Line: lineOf(value, id[2]), example: strings.HasSuffix(kid, exampleKeyIDEnd)})
		}
	}
	// A secret key alone: the whole value of an attribute named for a
	// secret (secret_key, aws_secret_access_key, access_key, …), or
	// assigned to such a name in a script; not any attribute named key
	// (an S3 object's key is a path).
	assigned := map[int]bool{}
	for _, a := range assignRe.FindAllStringSubmatchIndex(value, -1) {
		if SecretName(value[a[2]:a[3]]) {
			assigned[a[4]] = true
		}
	}
	for _, s := range secrets {
		sk := value[s[2]:s[3]]
		if covered[s[2]] || !secretKeyShape(sk) || !(secretName && strings.TrimSpace(value) == sk || assigned[s[2]]) {
			continue
		}
		m := Match{Kind: AWSSecretKey, Redacted: redactLen(sk), Line: lineOf(value, s[2]), lone: true}
		if strings.HasSuffix(sk, exampleSecEnd) {
			m.Kind, m.Note, m.example = AWSExampleKey, "AWS's documented example secret key, not a live credential", true
		}
		out = append(out, m)
		covered[s[2]] = true
	}
	for _, p := range []struct {
		re   *regexp.Regexp
		kind string
		pre  int // characters of the token that are its prefix, shown
	}{{githubRe, GitHubToken, 4}, {slackRe, SlackToken, 5}, {stripeRe, StripeKey, 8}, {googleRe, GoogleAPIKey, 4}} {
		for _, ix := range p.re.FindAllStringSubmatchIndex(value, -1) {
			tok := value[ix[2]:ix[3]]
			pre := p.pre
			if strings.HasPrefix(tok, "github_pat_") {
				pre = 11
			}
			if lowEntropy(tok[pre:], 3.0) || Placeholder(tok) {
				continue
			}
			out = append(out, Match{Kind: p.kind, Redacted: tok[:pre] + "… (" + itoa(len(tok)) + " chars)", Line: lineOf(value, ix[2])})
		}
	}
	for _, ix := range pemRe.FindAllStringSubmatchIndex(value, -1) {
		if pemBodyRe.MatchString(value[ix[1]:]) {
			out = append(out, Match{Kind: PrivateKey, Redacted: value[ix[0]:ix[1]], Line: lineOf(value, ix[0])})
		}
	}
	if len(out) > 0 {
		return out
	}
	if secretName && genericSecret(value) {
		return []Match{{Kind: GenericSecret, Redacted: redactLen(strings.TrimSpace(value)), Note: "entropy " + ftoa(Entropy(strings.TrimSpace(value))) + " bits per character"}}
	}
	// NAME=value assignments inside a longer text (user data, scripts).
	if strings.ContainsAny(strings.TrimSpace(value), " \n") {
		for _, a := range assignRe.FindAllStringSubmatchIndex(value, -1) {
			v := value[a[4]:a[5]]
			if covered[a[4]] || !SecretName(value[a[2]:a[3]]) || !genericSecret(v) || strings.Contains(v, "$") {
				continue
			}
			out = append(out, Match{Kind: GenericSecret, Redacted: redactLen(v), Line: lineOf(value, a[4]), Note: "assigned to " + value[a[2]:a[3]] + ", entropy " + ftoa(Entropy(v)) + " bits per character"})
		}
	}
	return out
}

// SecretName says whether an attribute, variable or parameter name says
// its value is a secret: password, passwd, secret, token, api_key (in any
// case, with _, - or . between words), and not a name, id, ARN, length,
// path or other attribute about a secret.
func SecretName(name string) bool {
	n := normal(name)
	if n == "" {
		return false
	}
	hit := false
	for _, s := range []string{"password", "passwd", "secret", "token", "apikey", "privatekey", "accesskey", "authkey", "credential"} {
		if strings.Contains(n, s) {
			hit = true
			break
		}
	}
	if !hit {
		return false
	}
	for _, s := range []string{"arn", "id", "ids", "name", "names", "length", "ttl", "version", "versionstage", "path", "file", "type", "count", "policy", "enabled", "rotation", "url", "uri", "endpoint", "description", "required", "reset", "expiration", "expiry", "validity", "duration", "header", "location", "prefix", "hash", "format", "field"} {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	return true
}

func normal(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Reference says whether a value is not itself a value but names one:
// a Terraform reference or interpolation, a CloudFormation intrinsic or
// dynamic reference ({{resolve:secretsmanager:…}}, {{resolve:ssm-secure:…}}),
// an ARN, or a parameter path.
func Reference(v string) bool {
	s := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(s, "{{resolve:"), strings.HasPrefix(s, "${"), strings.HasPrefix(s, "!Ref"), strings.HasPrefix(s, "!Sub"),
		strings.HasPrefix(s, "!GetAtt"), strings.HasPrefix(s, "!ImportValue"), strings.HasPrefix(s, "arn:"):
		return true
	}
	for _, p := range []string{"var.", "local.", "data.", "module.", "each.", "count.", "self.", "aws_", "random_"} {
		if strings.HasPrefix(s, p) && !strings.ContainsAny(s, " \n=") {
			return true
		}
	}
	return false
}

// Placeholder says whether a value is an obvious stand-in: changeme,
// example, xxxx, <your-token>, dummy, redacted and the like.
func Placeholder(v string) bool {
	l := strings.ToLower(v)
	for _, s := range []string{"changeme", "change_me", "change-me", "example", "placeholder", "xxxx", "****", "dummy", "redacted", "replace", "your_", "your-", "yourtoken", "insert", "todo", "sample", "fake", "000000", "123456", "abcdef"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	t := strings.TrimSpace(v)
	return strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">")
}

func genericSecret(v string) bool {
	s := strings.TrimSpace(v)
	if len(s) < minGenericLen || len(s) > 4096 || strings.ContainsAny(s, " \t\n") || strings.Contains(s, "://") ||
		strings.HasPrefix(s, "/") || Placeholder(s) || Reference(s) {
		return false
	}
	return Entropy(s) >= GenericEntropy
}

// secretKeyShape says whether a 40-character run looks like an AWS
// secret access key: upper and lower case letters and digits (a hex hash,
// all one case, does not), and not a repeated pattern.
func secretKeyShape(s string) bool {
	var up, low, dig bool
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			up = true
		case r >= 'a' && r <= 'z':
			low = true
		case r >= '0' && r <= '9':
			dig = true
		}
	}
	return up && low && dig && !lowEntropy(s, 4.0)
}

// Entropy is the Shannon entropy of s in bits per character.
func Entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n := 0.0, float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func lowEntropy(s string, min float64) bool { return Entropy(s) < min }

func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") }

// redactKeyID shows an access key id as AWS's console does: its first
// and last four characters.
func redactKeyID(id string) string { return id[:4] + "…" + id[len(id)-4:] }

func redactLen(s string) string { return "(" + itoa(len(s)) + " chars)" }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func ftoa(f float64) string {
	t := int(math.Round(f * 10))
	return itoa(t/10) + "." + itoa(t%10)
}

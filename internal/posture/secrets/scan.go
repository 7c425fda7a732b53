package secrets

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Finding is a secret found in a file: what kind, in which block and
// attribute, where, and its redacted form. It never holds the value.
type Finding struct {
	Match
	Source    string // terraform, cloudformation
	Type      string // the block's type: aws_lambda_function, provider, variable; AWS::Lambda::Function
	Address   string // aws_lambda_function.app, provider.aws, var.password; the logical id
	Attribute string // the attribute's path: environment.variables.DB_PASSWORD
	File      string // relative to the scan's base
	Line      int    // the secret's line
	Column    int    // the attribute's column
	BlockLine int    // where the enclosing block starts and ends
	BlockEnd  int
	Ignores   map[string]string // check id → reason, from parapet:ignore comments on the block
}

// Message says what was found and where, redacted.
func (f Finding) Message() string {
	s := Title(f.Kind) + " " + f.Redacted + " in " + f.Attribute
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

// Title names a kind for people.
func Title(kind string) string {
	switch kind {
	case AWSAccessKey:
		return "AWS access key"
	case AWSSecretKey:
		return "AWS secret access key"
	case AWSExampleKey:
		return "AWS documented example key"
	case GitHubToken:
		return "GitHub token"
	case SlackToken:
		return "Slack token"
	case StripeKey:
		return "Stripe live secret key"
	case PrivateKey:
		return "private key"
	case GoogleAPIKey:
		return "Google API key"
	}
	return "high-entropy secret"
}

var ignoreRe = regexp.MustCompile(`parapet:ignore\s+(\S+)(?:\s+(.*))?`)

// ignores reads the parapet:ignore comments of a block: on the comment
// lines just above it and on its own lines (first and last from 1).
func ignores(lines []string, first, last int) map[string]string {
	out := map[string]string{}
	start := first - 1
	for start > 0 && (strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") || strings.HasPrefix(strings.TrimSpace(lines[start-1]), "//")) {
		start--
	}
	for i := start; i < last && i < len(lines); i++ {
		if m := ignoreRe.FindStringSubmatch(lines[i]); m != nil {
			out[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return out
}

// walker collects the findings of one block.
type walker struct {
	f   Finding // the block's fields; Match, Attribute, Line, Column set per finding
	out []Finding
}

// value looks at one evaluated value set on path (the last element names
// it), which starts on line: strings are detected (and decoded first when
// they hold JSON or base64 user data), maps and lists walked with their
// keys as names. A list of {name, value} objects (ECS environments) names
// each value by its name.
func (w *walker) value(path, name string, v any, line, col int, raw string) {
	switch x := v.(type) {
	case string:
		w.str(path, name, x, line, col, raw)
	case map[string]any:
		if n, val, ok := nameValue(x); ok {
			w.value(path, n, val, line, col, raw)
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w.value(join(path, k), k, x[k], line, col, raw)
		}
	case []any:
		for i, e := range x {
			w.value(path+"["+strconv.Itoa(i)+"]", name, e, line, col, raw)
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// nameValue reads {"name": …, "value": …} (any case).
func nameValue(m map[string]any) (string, any, bool) {
	if len(m) != 2 {
		return "", nil, false
	}
	var n string
	var v any
	var okN, okV bool
	for k, x := range m {
		switch strings.ToLower(k) {
		case "name":
			n, okN = x.(string)
		case "value":
			v, okV = x, true
		}
	}
	return n, v, okN && okV
}

func (w *walker) str(path, name, s string, line, col int, raw string) {
	t := strings.TrimSpace(s)
	if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && len(t) > 2 {
		var doc any
		if json.Unmarshal([]byte(t), &doc) == nil {
			// Values in a JSON document: each found in the text, if it is
			// there, for its line.
			w.value(path, name, doc, line, col, s)
			return
		}
	}
	if userData(name) {
		if dec, ok := decodeBase64(t); ok {
			n := len(w.out)
			w.str(path+"(base64)", name, dec, line, col, "")
			for i := n; i < len(w.out); i++ {
				w.out[i].Line = line // lines of the decoded text are not the file's
			}
			return
		}
	}
	for _, m := range detect(name, s) {
		l := line + m.Line
		if raw != "" && m.Line == 0 {
			// A value decoded from a JSON text: its line in the text.
			if i := strings.Index(raw, firstLine(s)); i >= 0 {
				l = line + strings.Count(raw[:i], "\n")
			}
		}
		f := w.f
		f.Match, f.Attribute, f.Line, f.Column = m, path, l, col
		f.Match.Line = 0
		w.out = append(w.out, f)
	}
}

// finish pairs the access key ids of a block with its secret keys: an id
// and a secret key set on two attributes of one block (a provider's
// access_key and secret_key, a function's environment) are one AWS access
// key, reported where the id is. An id without a secret key is no finding.
func (w *walker) finish() []Finding {
	var out []Finding
	used := map[int]bool{}
	for _, id := range w.out {
		if id.Kind != awsKeyID {
			continue
		}
		for j, s := range w.out {
			if used[j] || !s.lone {
				continue
			}
			used[j] = true
			id.Kind, id.Note = AWSAccessKey, "with its secret access key in "+s.Attribute+" on line "+strconv.Itoa(s.Line)
			if id.example || s.example {
				id.Kind, id.Note = AWSExampleKey, "AWS's documented example key, not a live credential; its secret key in "+s.Attribute+" on line "+strconv.Itoa(s.Line)
			}
			out = append(out, id)
			break
		}
	}
	for j, f := range w.out {
		if f.Kind != awsKeyID && !used[j] {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Line < out[b].Line })
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func userData(name string) bool {
	n := normal(name)
	return n == "userdata" || n == "userdatabase64"
}

// decodeBase64 decodes user data given in base64, when it decodes to text.
func decodeBase64(s string) (string, bool) {
	if len(s) < 16 || strings.ContainsAny(s, " \n\t") {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	for _, r := range string(b) {
		if r < ' ' && r != '\n' && r != '\r' && r != '\t' {
			return "", false
		}
	}
	return string(b), true
}

func rel(base, file string) string {
	if base == "" {
		return file
	}
	if r, err := filepath.Rel(base, file); err == nil {
		return r
	}
	return file
}

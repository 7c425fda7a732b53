package secrets

import (
	"strings"
	"testing"
)

// Fake secrets in the shapes of real ones (none is live).
const (
	keyID     = "AKIAUJZDEGXDNCF32EPF"
	stsKeyID  = "ASIAUJZDEGXDNCF32EPF"
	secretKey = "2hpChYgCfrL1spNxnyVmihA+2O76UMFxFkM+R5Kj"
	ghToken   = "ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES"
	ghPAT     = "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"
	slack     = "xoxb-28907866661-760313721590-gaKjIg8xNbe3nNyjOq9wMxEh"
	stripe    = "sk_live_h2FDEEtfjgVvVqE1SkHbn88H"
	google    = "AIzaUsdMlHUvTCQCyEZDz-TddJ8HyS5SUkCnD8z"
	password  = "RA9a9SkpXz9w3QlY7Zkuvqdt"
	pemKey    = "-----BEGIN RSA PRIVATE KEY-----\nMIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAKci3arCk3Bjh0Vm\nlB48l79TxyGNLxNlO+noRp/i955sC+skNRlv/hXjjiGMJ1bWGMc04GDDMtJ31RrH\n-----END RSA PRIVATE KEY-----\n"
	awsExID   = "AKIAIOSFODNN7EXAMPLE"
	awsExKey  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// raws are the secret parts of the test values: none may appear in any
// redacted form or message.
var raws = []string{keyID[4:16], secretKey[4:], ghToken[4:], ghPAT[11:], slack[5:], stripe[8:], google[4:], password, "BAQEFAASCAmEwggJdAgEAAoGBAKci3arCk3Bjh0Vm"}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, attr, value string
		want              []string // kinds, in order
	}{
		// Secrets.
		{"key pair in user data", "user_data", "#!/bin/bash\nexport AWS_ACCESS_KEY_ID=" + keyID + "\nexport AWS_SECRET_ACCESS_KEY=" + secretKey + "\n", []string{AWSAccessKey}},
		{"STS key pair in a credentials file", "content", "[default]\naws_access_key_id = " + stsKeyID + "\naws_secret_access_key = " + secretKey + "\n", []string{AWSAccessKey}},
		{"documented example pair", "user_data", "AWS_ACCESS_KEY_ID=" + awsExID + " AWS_SECRET_ACCESS_KEY=" + awsExKey, []string{AWSExampleKey}},
		{"secret key in a secret_key attribute", "secret_key", secretKey, []string{AWSSecretKey}},
		{"secret key in an SSM parameter named for it", "/ci/aws_secret_access_key", secretKey, []string{AWSSecretKey}},
		{"secret key assigned in a script", "user_data", "#!/bin/sh\nAWS_SECRET_ACCESS_KEY=" + secretKey + " aws s3 ls\n", []string{AWSSecretKey}},
		{"documented example secret key", "secret_key", awsExKey, []string{AWSExampleKey}},
		{"GitHub classic token", "GITHUB_TOKEN", ghToken, []string{GitHubToken}},
		{"GitHub token in an ordinary attribute", "command", "git clone https://" + ghToken + "@github.com/org/repo", []string{GitHubToken}},
		{"GitHub fine-grained token", "value", ghPAT, []string{GitHubToken}},
		{"Slack bot token", "SLACK", slack, []string{SlackToken}},
		{"Stripe live key", "STRIPE", stripe, []string{StripeKey}},
		{"Google API key", "MAPS", google, []string{GoogleAPIKey}},
		{"private key", "private_key", pemKey, []string{PrivateKey}},
		{"private key with escaped newlines", "private_key", strings.ReplaceAll(pemKey, "\n", `\n`), []string{PrivateKey}},
		{"password attribute", "password", password, []string{GenericSecret}},
		{"master user password", "MasterUserPassword", password, []string{GenericSecret}},
		{"api_key variable", "API_KEY", password, []string{GenericSecret}},
		{"client secret", "client_secret", password + "Zq", []string{GenericSecret}},
		{"password assigned in user data", "user_data", "#!/bin/bash\nexport DB_PASSWORD=" + password + "\nrun\n", []string{GenericSecret}},
		{"secret string JSON leaf named password", "password", password, []string{GenericSecret}},

		// Near misses.
		{"variable reference", "password", "var.db_password", nil},
		{"interpolation", "password", "${var.db_password}", nil},
		{"dynamic reference", "MasterUserPassword", "{{resolve:secretsmanager:prod/db:SecretString:password}}", nil},
		{"SSM secure dynamic reference", "password", "{{resolve:ssm-secure:/prod/db/password:1}}", nil},
		{"Ref", "password", "!Ref DBPassword", nil},
		{"data source", "token", "data.aws_ssm_parameter.token.value", nil},
		{"placeholder changeme", "password", "changeme-changeme-changeme", nil},
		{"placeholder angle brackets", "api_token", "<your-api-token-goes-here>", nil},
		{"placeholder xxxx", "secret", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", nil},
		{"placeholder example", "password", "ExamplePassw0rdForTheDocs", nil},
		{"low-entropy password in a secret attribute", "password", "password123", nil},
		{"low-entropy password in an ordinary attribute", "description", "password123", nil},
		{"long password-like value in an ordinary attribute", "description", password, nil},
		{"git commit hash in a tag", "git_commit", "d68d2897add9bc2203a5ed0632a5cdd8ff8cefb0", nil},
		{"sha256 in source_code_hash", "source_code_hash", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", nil},
		{"hex value in a secret_key attribute: generic, not an AWS key", "secret_key", "d68d2897add9bc2203a5ed0632a5cdd8ff8cefb0", []string{GenericSecret}},
		{"ARN in a secret attribute", "secret_arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", nil},
		{"ARN as a password value", "password", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", nil},
		{"UUID in an ordinary attribute", "external_id", "3f2b8c1e-9d4a-4e7b-8c2f-1a2b3c4d5e6f", nil},
		{"UUID in an id attribute named for a secret", "secret_id", "3f2b8c1e-9d4a-4e7b-8c2f-1a2b3c4d5e6f", nil},
		{"password length", "password_length", "24", nil},
		{"token URL", "token_url", "https://login.example.com/oauth2/v2.0/token", nil},
		{"secret name", "secret_name", "prod/database/master-credentials", nil},
		{"sentence in a secret attribute", "secret", "the database password lives in Secrets Manager", nil},
		{"key id alone", "access_key", keyID, nil},
		{"40-char mixed run in an ordinary attribute", "etag", secretKey, nil},
		{"40-char mixed run as an S3 object key", "key", secretKey, nil},
		{"40-char mixed run assigned to KEY in a script", "user_data", "#!/bin/sh\nS3_KEY=" + secretKey + "\n", nil},
		{"low-entropy GitHub-shaped token", "token", "ghp_" + strings.Repeat("a", 36), nil},
		{"Slack placeholder", "token", "xoxb-your-token-here", nil},
		{"Stripe test key", "key", "sk_test_h2FDEEtfjgVvVqE1SkHbn88H", nil},
		{"PEM header without a body", "private_key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", nil},
		{"public key", "public_key", "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC7vbqajDw4o6gJy8UtmIbkcpnk\n-----END PUBLIC KEY-----", nil},
		{"interpolated password in user data", "user_data", "#!/bin/bash\nexport DB_PASSWORD=$DB_PASSWORD_FROM_SSM_PARAMETER\n", nil},
		{"password assigned a path in user data", "user_data", "#!/bin/bash\nPASSWORD_FILE=/run/secrets/db_password_file\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Detect(tc.attr, tc.value)
			var kinds []string
			for _, m := range got {
				kinds = append(kinds, m.Kind)
				for _, raw := range raws {
					if strings.Contains(m.Redacted, raw) || strings.Contains(m.Note, raw) {
						t.Errorf("Detect(%q) match %+v shows the secret", tc.attr, m)
					}
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tc.want, ",") {
				t.Errorf("Detect(%q, %q) = %v, want %v", tc.attr, tc.value, kinds, tc.want)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ attr, value, want string }{
		{"user_data", "AWS_ACCESS_KEY_ID=" + keyID + " AWS_SECRET_ACCESS_KEY=" + secretKey, "AKIA…2EPF"},
		{"secret_key", secretKey, "(40 chars)"},
		{"token", ghToken, "ghp_… (40 chars)"},
		{"token", slack, "xoxb-… (54 chars)"},
		{"key", stripe, "sk_live_… (32 chars)"},
		{"password", password, "(24 chars)"},
		{"private_key", pemKey, "-----BEGIN RSA PRIVATE KEY-----"},
	}
	for _, tc := range tests {
		got := Detect(tc.attr, tc.value)
		if len(got) != 1 || got[0].Redacted != tc.want {
			t.Errorf("Detect(%q, …) = %+v, want one match redacted %q", tc.attr, got, tc.want)
		}
	}
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "DB_PASSWORD": true, "MasterUserPassword": true, "secret_string": true, "client-secret": true,
		"api_key": true, "apiKey": true, "auth_token": true, "GITHUB_TOKEN": true, "secret_key": true, "private_key": true,
		"key": false, "kms_key_id": false, "secret_arn": false, "password_length": false, "token_url": false,
		"secret_name": false, "description": false, "user_data": false, "password_reset_required": false, "": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{keyID + " " + secretKey, ghToken, pemKey, "${var.x}", "{{resolve:ssm:x}}", password, "AKIA", "-----BEGIN PRIVATE KEY-----"} {
		f.Add("password", s)
		f.Add("user_data", s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		for _, m := range Detect(name, value) {
			if m.Kind == "" || m.Redacted == "" || m.Line < 0 {
				t.Fatalf("Detect(%q, %q) = %+v", name, value, m)
			}
			// A redacted form never holds more than a prefix: at most
			// a PEM header, or 4 + 4 characters of an id.
			if m.Kind != PrivateKey && len(m.Redacted) > 24 {
				t.Fatalf("Detect(%q, %q): redacted %q is too long", name, value, m.Redacted)
			}
		}
	})
}

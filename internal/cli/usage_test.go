package cli

import (
	"strings"
	"testing"
)

// A misspelt command or flag is a usage error (exit 2) with cobra's
// suggestion; a command group alone prints its help.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr, or stdout for help
	}{
		{[]string{"detcet", "x.json"}, ExitUsage, "unknown command \"detcet\" for \"parapet\"\n\nDid you mean this?\n\tdetect\n"},
		{[]string{"rules", "tset"}, ExitUsage, "unknown command \"tset\" for \"parapet rules\"\n\nDid you mean this?\n\ttest\n"},
		{[]string{"approvals", "lst"}, ExitUsage, "Did you mean this?\n\tlist\n"},
		{[]string{"config", "nothing-like-it"}, ExitUsage, "unknown command \"nothing-like-it\" for \"parapet config\""},
		{[]string{"--nope"}, ExitUsage, "unknown flag: --nope"},
		{[]string{"rules", "test", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{[]string{"rules"}, ExitOK, "Available Commands:"},
		{[]string{}, ExitOK, "Available Commands:"},
		{[]string{"help", "detect"}, ExitOK, "Usage:"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := run(t, "", tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

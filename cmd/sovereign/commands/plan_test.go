package commands

import (
	"strings"
	"testing"
)

// TestPlanFlagsSuggest: plan's catalog flags answer a shortened name with
// the entry it is part of, as a blueprint's settings do.
func TestPlanFlagsSuggest(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--hardware", "gb300", "--model", "qwen3-235b-a22b", "--weights", "awq-int4"}, `Did you mean "dgx-station-gb300"?`},
		{[]string{"--hardware", "dgx-station-gb300", "--model", "qwen3-30b", "--weights", "awq-int4"}, `Did you mean "qwen3-30b-a3b"?`},
		{[]string{"--hardware", "dgx-station-gb300", "--model", "qwen3-235b-a22b", "--weights", "awq"}, `Did you mean "awq-int4"?`},
	} {
		r := runCLI(t, append([]string{"plan"}, c.args...)...)
		if r.code != ExitInvalid || !strings.Contains(r.stderr, c.want) {
			t.Errorf("plan %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), r.code, r.stderr, ExitInvalid, c.want)
		}
	}
}

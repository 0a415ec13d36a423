package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// TestTextRules checks the shared rule set at each kind of destination: a
// refused character is one error at the attribute (or the list item) that
// says which characters are allowed and why; an allowed one loads.
func TestTextRules(t *testing.T) {
	tests := []struct {
		name string
		bp   string
		env  []string
		// want is "LINE,COL" of the one error; "" means the blueprint loads.
		want string
		// says is what the error must say.
		says []string
	}{
		{
			name: "a line break in a device cannot add a line to the mount unit",
			bp:   applianceWith(`storage { device = "/dev/disk/by-id/nvme-x\nWhat=/evil" }`),
			want: "6,20", says: []string{"device holds a line break (U+000A) at character 23", "letters, digits and . _ - + : @ /", "mount units"},
		},
		{
			name: "a space in the state folder",
			bp:   applianceWith(`storage { state = "/var/lib/my data" }`),
			want: "6,19", says: []string{"holds a space (U+0020)"},
		},
		{
			name: "a line break in served_model_name is located, not an internal error",
			bp:   testAppliance + testModel + engineWith(`  served_model_name = "a\nb"`),
			want: "19,23", says: []string{"served_model_name holds a line break"},
		},
		{
			name: "a percent sign in served_model_name would be a systemd specifier",
			bp:   testAppliance + testModel + engineWith(`  served_model_name = "qwen%n"`),
			want: "19,23", says: []string{`'%'`, "specifier"},
		},
		{
			name: "quotes, dollars and braces in served_model_name are quoted where they go",
			bp:   testAppliance + testModel + engineWith(`  served_model_name = "q\"w$e{n};"`),
		},
		{
			name: "the line break is in the second extra argument: the error is at that item",
			bp:   testAppliance + testModel + engineWith(`  extra_args = ["--seed", "7\n--evil"]`),
			want: "19,27", says: []string{"extra_args holds a line break (U+000A) at character 2"},
		},
		{
			name: "extra arguments with quotes and dollars are quoted for systemd",
			bp:   testAppliance + testModel + engineWith(`  extra_args = ["--x", "{\"a\": \"$HOME 50%\"}"]`),
		},
		{
			name: "an escape character in an environment value",
			bp:   testAppliance + testModel + engineWith(`  environment = { A = "x\u001b[31m" }`),
			want: "19,23", says: []string{"an escape character (U+001B)"},
		},
		{
			name: "a line break in an environment key",
			bp:   testAppliance + testModel + engineWith(`  environment = { "A\nB" = "x" }`),
			want: "19,28", says: []string{"environment holds a line break"},
		},
		{
			name: "a value read with file() keeps its line break: the message says how to drop it",
			bp:   testAppliance + testModel + engineWith(`  served_model_name = "name\n"`),
			want: "19,23", says: []string{"trimspace(file(…))"},
		},
		{
			name: "a secret is checked too, and never shown",
			bp:   testAppliance + testModel + engineWith(`  api_key = secret_env("KEY")`),
			env:  []string{"KEY=sk-abc\"def"},
			want: "19,13", says: []string{`api_key holds '"' at character 7`, "nginx"},
		},
		{
			name: "a right-to-left override in a plain setting",
			bp:   applianceWith("power {\n tariff_per_kwh = 0.3\n currency = \"AUD\\u202e\"\n }"),
			want: "8,13", says: []string{"an invisible formatting character (U+202E)"},
		},
		{
			name: "a multi-line setting takes line breaks but no other control characters",
			bp: testAppliance + `
model "m" {
  config  = "{\"architectures\": [\"X\"],\n\u0007}"
  weights = "fp8"
}
`,
			want: "12,13", says: []string{"a control character (U+0007)", "tabs and line breaks"},
		},
		{
			name: "the appliance's name",
			bp:   strings.Replace(testAppliance, `appliance "coop"`, `appliance "co\nop"`, 1),
			want: "2,11", says: []string{"The appliance name holds a line break"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testParser(t, map[string]string{"bp.hcl": tc.bp})
			_, diags := p.Load("bp.hcl", lang.Inputs{Env: tc.env})
			if tc.want == "" {
				if diags.HasErrors() {
					t.Fatalf("want no error, got:\n%s", formatDiags(p, diags))
				}
				return
			}
			if diff := cmp.Diff([]string{"bp.hcl:" + tc.want + ": Character not allowed"}, errorList(diags)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s\n%s", diff, formatDiags(p, diags))
			}
			detail := errorDetails(diags)[0]
			for _, s := range tc.says {
				if !strings.Contains(detail, s) {
					t.Errorf("the error does not say %q:\n%s", s, detail)
				}
			}
			for _, kv := range tc.env {
				if _, v, _ := strings.Cut(kv, "="); strings.Contains(formatDiags(p, diags), v) {
					t.Errorf("the error shows the secret %q", v)
				}
			}
		})
	}
}

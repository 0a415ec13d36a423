package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// envBlueprint puts expr into the engine's environment as OUT, a plain
// string setting that shows what a function returned.
func envBlueprint(expr string) string {
	return testAppliance + testModel + engineWith("  environment = { OUT = "+expr+" }")
}

func TestSecretFunctions(t *testing.T) {
	tests := []struct {
		name    string
		apiKey  string
		files   map[string]string // besides bp.hcl
		env     []string
		wantKey string
	}{
		{name: "secret_file drops the trailing newline", apiKey: `secret_file("key")`, files: map[string]string{"key": "sk-123\n"}, wantKey: "sk-123"},
		{name: "secret_file drops a CRLF too", apiKey: `secret_file("key")`, files: map[string]string{"key": "sk-123\r\n"}, wantKey: "sk-123"},
		{name: "secret_file keeps inner newlines", apiKey: `replace(secret_file("key"), "\n", "-")`, files: map[string]string{"key": "line1\nline2\n\n"}, wantKey: "line1-line2"},
		{name: "secret_file without a newline", apiKey: `secret_file("key")`, files: map[string]string{"key": "sk-123"}, wantKey: "sk-123"},
		{name: "secret_file is relative to the blueprint's folder", apiKey: `secret_file("secrets/key")`, files: map[string]string{"secrets/key": "sk-456\n"}, wantKey: "sk-456"},
		{name: "secret_env", apiKey: `secret_env("API_KEY")`, env: []string{"API_KEY=sk-789"}, wantKey: "sk-789"},
		{name: "secret_env keeps an = in the value", apiKey: `secret_env("API_KEY")`, env: []string{"API_KEY=a=b"}, wantKey: "a=b"},
		{name: "a string built from a secret is a secret", apiKey: `"Bearer ${secret_env("API_KEY")}"`, env: []string{"API_KEY=sk"}, wantKey: "Bearer sk"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"bp.hcl": testAppliance + testModel + engineWith("  api_key = "+tc.apiKey)}
			for k, v := range tc.files {
				files[k] = v
			}
			bp := mustLoad(t, files, "bp.hcl", lang.Inputs{Env: tc.env})
			key := bp.Engines[0].APIKey
			if key == nil {
				t.Fatal("api_key was not set")
			}
			if diff := cmp.Diff(tc.wantKey, key.Value); diff != "" {
				t.Errorf("api_key mismatch (-want +got):\n%s", diff)
			}
			if s := key.String(); strings.Contains(s, tc.wantKey) {
				t.Errorf("the secret's String() shows its value: %q", s)
			}
		})
	}
}

func TestFunctionErrors(t *testing.T) {
	const at = "bp.hcl:19,25"
	tests := []struct {
		name    string
		expr    string
		files   map[string]string
		env     []string
		want    []string
		wantHas string
	}{
		{
			name:    "a secret_file value in a plain setting",
			expr:    `secret_file("key")`,
			files:   map[string]string{"key": "sk-SECRET-42\n"},
			want:    []string{"bp.hcl:19,17: Secret in a plain setting"},
			wantHas: "comes from a secret",
		},
		{
			name: "a secret_env value in a plain setting",
			expr: `secret_env("API_KEY")`,
			env:  []string{"API_KEY=sk-SECRET-42"},
			want: []string{"bp.hcl:19,17: Secret in a plain setting"},
		},
		{
			name: "jsonencode of a secret stays secret",
			expr: `jsonencode({ key = secret_env("API_KEY") })`,
			env:  []string{"API_KEY=sk-SECRET-42"},
			want: []string{"bp.hcl:19,17: Secret in a plain setting"},
		},
		{
			name: "sha256 of a secret stays secret",
			expr: `sha256(secret_env("API_KEY"))`,
			env:  []string{"API_KEY=sk-SECRET-42"},
			want: []string{"bp.hcl:19,17: Secret in a plain setting"},
		},
		{
			name:  "base64encode of a secret stays secret",
			expr:  `base64encode(secret_file("key"))`,
			files: map[string]string{"key": "sk-SECRET-42\n"},
			want:  []string{"bp.hcl:19,17: Secret in a plain setting"},
		},
		{
			name:  "templatefile with a secret variable stays secret",
			expr:  `templatefile("t.tpl", { key = secret_env("API_KEY") })`,
			files: map[string]string{"t.tpl": "key=${key}"},
			env:   []string{"API_KEY=sk-SECRET-42"},
			want:  []string{"bp.hcl:19,17: Secret in a plain setting"},
		},
		{
			name:    "file that is missing",
			expr:    `file("nope.txt")`,
			want:    []string{at + ": Error in function call"},
			wantHas: `reading "nope.txt" (relative to the blueprint folder ".")`,
		},
		{
			name:    "file that is not text",
			expr:    `file("blob")`,
			files:   map[string]string{"blob": "\xff\xfe\x00"},
			want:    []string{at + ": Error in function call"},
			wantHas: "not valid UTF-8",
		},
		{
			name:    "secret_file that is empty",
			expr:    `secret_file("key")`,
			files:   map[string]string{"key": "\n"},
			want:    []string{at + ": Error in function call"},
			wantHas: "is empty",
		},
		{
			name:    "secret_env that is unset",
			expr:    `secret_env("API_KEY")`,
			want:    []string{at + ": Error in function call"},
			wantHas: "API_KEY is not set",
		},
		{
			name:    "secret_env that is empty",
			expr:    `secret_env("API_KEY")`,
			env:     []string{"API_KEY="},
			want:    []string{at + ": Error in function call"},
			wantHas: "API_KEY is not set (or empty)",
		},
		{
			name:    "a template cannot call templatefile",
			expr:    `templatefile("t.tpl", {})`,
			files:   map[string]string{"t.tpl": `${templatefile("t.tpl", {})}`},
			want:    []string{at + ": Error in function call"},
			wantHas: `no function named "templatefile"`,
		},
		{
			name:    "a template's undeclared variable",
			expr:    `templatefile("t.tpl", { a = 1 })`,
			files:   map[string]string{"t.tpl": `${b}`},
			want:    []string{at + ": Error in function call"},
			wantHas: "Unknown variable",
		},
		{
			name:    "base64decode of something else",
			expr:    `base64decode("not base64!")`,
			want:    []string{at + ": Error in function call"},
			wantHas: "invalid base64",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"bp.hcl": envBlueprint(tc.expr)}
			for k, v := range tc.files {
				files[k] = v
			}
			p := testParser(t, files)
			bp, diags := p.Load("bp.hcl", lang.Inputs{Env: tc.env})
			if bp != nil {
				t.Errorf("Load returned a blueprint along with errors")
			}
			if diff := cmp.Diff(tc.want, errorList(diags)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if tc.wantHas != "" && (len(diags) == 0 || !strings.Contains(diags[0].Detail, tc.wantHas)) {
				t.Errorf("the error does not say %q:\n%s", tc.wantHas, strings.Join(errorDetails(diags), "\n"))
			}
			// A secret's value must never appear in what the CLI prints.
			if out := formatDiags(p, diags); strings.Contains(out, "SECRET-42") {
				t.Errorf("the printed diagnostics show the secret:\n%s", out)
			}
		})
	}
}

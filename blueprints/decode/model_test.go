package decode_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

const (
	testSource   = `  source   = "hf://Qwen/Qwen3-235B-A22B"`
	testRevision = `  revision = "0123456789abcdef0123456789abcdef01234567"`
	testSHA      = "sha256:" + "ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	testFiles    = `  files = {
    "config.json"                  = "` + testSHA + `"
    "original/model.safetensors"   = "` + testSHA + `"
  }`
)

// modelWith is testModel with body added to the model block.
func modelWith(lines ...string) string {
	return strings.Replace(testModel, "\n}\n", "\n"+strings.Join(lines, "\n")+"\n}\n", 1)
}

// TestModelWeights checks what the blueprint says about where a model's
// weights come from: a fetched model is pinned to a commit and every file's
// sha256, a pre-staged one may list its files for the check at boot.
func TestModelWeights(t *testing.T) {
	hexSHA := strings.TrimPrefix(testSHA, "sha256:")
	tests := []struct {
		name   string
		model  string
		source string
		rev    string
		files  map[string]string
		mirror string
	}{
		{
			name:  "pre-staged without a manifest",
			model: testModel,
		},
		{
			name:   "an unpinned source only records where the weights came from",
			model:  modelWith(testSource),
			source: "hf://Qwen/Qwen3-235B-A22B",
		},
		{
			name:  "pre-staged with a manifest",
			model: modelWith(testFiles),
			files: map[string]string{"config.json": hexSHA, "original/model.safetensors": hexSHA},
		},
		{
			name:   "fetched",
			model:  modelWith(testSource, testRevision, testFiles),
			source: "hf://Qwen/Qwen3-235B-A22B",
			rev:    "0123456789abcdef0123456789abcdef01234567",
			files:  map[string]string{"config.json": hexSHA, "original/model.safetensors": hexSHA},
		},
		{
			name:   "fetched from a mirror, trailing slash dropped",
			model:  modelWith(testSource, testRevision, testFiles, `  mirror = "http://10.0.0.5:8080/qwen3/"`),
			source: "hf://Qwen/Qwen3-235B-A22B",
			rev:    "0123456789abcdef0123456789abcdef01234567",
			files:  map[string]string{"config.json": hexSHA, "original/model.safetensors": hexSHA},
			mirror: "http://10.0.0.5:8080/qwen3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := mustLoad(t, map[string]string{"bp.hcl": testAppliance + tc.model + testEngine}, "bp.hcl", lang.Inputs{})
			m := bp.Models[0]
			if m.Source != tc.source || m.Revision != tc.rev || m.Mirror != tc.mirror {
				t.Errorf("source, revision, mirror = %q, %q, %q; want %q, %q, %q", m.Source, m.Revision, m.Mirror, tc.source, tc.rev, tc.mirror)
			}
			if diff := cmp.Diff(tc.files, m.Files); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestModelWeightErrors checks that each way of half-pinning a model, or of
// writing a manifest wrong, is one error at its own place.
func TestModelWeightErrors(t *testing.T) {
	tests := []struct {
		name  string
		model string
		want  []string
	}{
		{
			name:  "a source and revision without files",
			model: modelWith(testSource, testRevision),
			want:  []string{"bp.hcl:15,14: Model files not pinned"},
		},
		{
			name:  "a source and files without revision",
			model: modelWith(testSource, testFiles),
			want:  []string{"bp.hcl:14,14: Model revision missing"},
		},
		{
			name:  "an invalid revision is not also a missing one",
			model: modelWith(testSource, `  revision = "main"`, testFiles),
			want:  []string{"bp.hcl:15,14: Invalid model revision"},
		},
		{
			name:  "a mirror of an unpinned source",
			model: modelWith(testSource, `  mirror = "http://10.0.0.5/qwen3"`),
			want:  []string{"bp.hcl:15,12: Mirror without a pinned source"},
		},
		{
			name:  "a mirror that is not an http URL",
			model: modelWith(testSource, testRevision, testFiles, `  mirror = "ftp://10.0.0.5/qwen3"`),
			want:  []string{"bp.hcl:20,12: Invalid mirror"},
		},
		{
			name: "a file outside the folder, at its entry",
			model: modelWith(`  files = {
    "config.json"      = "` + testSHA + `"
    "../etc/shadow"    = "` + testSHA + `"
  }`),
			want: []string{"bp.hcl:16,26: Invalid model file name"},
		},
		{
			name: "a hidden file",
			model: modelWith(`  files = {
    ".gitattributes" = "` + testSHA + `"
  }`),
			want: []string{"bp.hcl:15,24: Invalid model file name"},
		},
		{
			name: "a digest without its algorithm, at its entry",
			model: modelWith(`  files = {
    "config.json" = "` + strings.TrimPrefix(testSHA, "sha256:") + `"
  }`),
			want: []string{"bp.hcl:15,21: Invalid file digest"},
		},
		{
			name:  "an empty manifest",
			model: modelWith(`  files = {}`),
			want:  []string{"bp.hcl:14,11: Empty model manifest"},
		},
		{
			name:  "a manifest of the wrong type is one error",
			model: modelWith(`  files = ["config.json"]`),
			want:  []string{"bp.hcl:14,11: Incorrect attribute value type"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErrors(t, map[string]string{"bp.hcl": testAppliance + tc.model + testEngine}, "bp.hcl", lang.Inputs{})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestModelConfigMatchesItsFiles: when the blueprint gives the planner a
// config.json and pins the model's files, the two must be the same file, or
// the plan is made for other weights than the appliance serves.
func TestModelConfigMatchesItsFiles(t *testing.T) {
	config, err := os.ReadFile("../catalog/testdata/configs/qwen3-30b-a3b.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(config)
	model := func(digest string) string {
		return `
model "qwen3" {
  config  = file("config.json")
  weights = "bf16"
  files = {
    "config.json" = "sha256:` + digest + `"
  }
}
`
	}
	engine := testEngine

	bp := mustLoad(t, map[string]string{"bp.hcl": testAppliance + model(hex.EncodeToString(sum[:])) + engine, "config.json": string(config)}, "bp.hcl", lang.Inputs{})
	if bp.Models[0].Architecture.Family == "" {
		t.Error("the config was not read")
	}

	other := strings.Repeat("0", 64)
	p := testParser(t, map[string]string{"bp.hcl": testAppliance + model(other) + engine, "config.json": string(config)})
	_, diags := p.Load("bp.hcl", lang.Inputs{})
	if diff := cmp.Diff([]string{"bp.hcl:12,13: Model config differs from its files"}, errorList(diags)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

// TestModelToken: a gated repository's token is a secret, only for a model
// that is fetched, and never quoted back in a message.
func TestModelToken(t *testing.T) {
	fetched := modelWith(testSource, testRevision, testFiles, `  token    = secret_file("hf.token")`)
	bp := mustLoad(t, map[string]string{"bp.hcl": testAppliance + fetched + testEngine, "hf.token": "hf_AbC123\n"}, "bp.hcl", lang.Inputs{})
	if tok := bp.Models[0].Token; tok == nil || tok.Value != "hf_AbC123" {
		t.Errorf("token = %v, want the file's contents", tok)
	}

	tests := []struct {
		name  string
		model string
		token string
		want  []string
	}{
		{
			name:  "a literal token",
			model: modelWith(testSource, testRevision, testFiles, `  token    = "hf_AbC123"`),
			want:  []string{"bp.hcl:20,14: Secret given as a literal"},
		},
		{
			name:  "a token for pre-staged weights",
			model: modelWith(testSource, `  token = secret_file("hf.token")`),
			token: "hf_AbC123",
			want:  []string{"bp.hcl:15,11: Token without a pinned source"},
		},
		{
			name:  "a token that would need quoting",
			model: fetched,
			token: `hf_"secret value"`,
			want:  []string{"bp.hcl:20,14: Invalid token"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testParser(t, map[string]string{"bp.hcl": testAppliance + tc.model + testEngine, "hf.token": tc.token})
			_, diags := p.Load("bp.hcl", lang.Inputs{})
			if diff := cmp.Diff(tc.want, errorList(diags)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			for _, d := range diags {
				if tc.token != "" && (strings.Contains(d.Detail, tc.token) || strings.Contains(d.Summary, tc.token)) {
					t.Errorf("a message quotes the token: %s: %s", d.Summary, d.Detail)
				}
			}
		})
	}
}

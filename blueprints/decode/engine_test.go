package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// TestEngineOptionsPerKind: each engine accepts its own spelling of a
// setting, and a setting it lacks is an error naming the engine and, where
// it has one, its own equivalent.
func TestEngineOptionsPerKind(t *testing.T) {
	images := map[string]string{"vllm": testImage, "sglang": "docker.io/lmsysorg/sglang:v0.5.9", "nim": "nvcr.io/nim/nvidia/llm-nim:1.13.1"}
	engine := func(kind, body string) string {
		return testAppliance + testModel + `
engine "` + kind + `" "e" {
  model = model.qwen3
  image = "` + images[kind] + `"
` + body + `
}
`
	}
	tests := []struct {
		name, kind, body string
		wantErr          string // a substring of the one error's detail; empty: loads
	}{
		{name: "vllm's own names", kind: "vllm", body: "max_model_len = 32768\ngpu_memory_utilization = 0.9\nkv_cache_dtype = \"fp8\""},
		{name: "sglang's own names", kind: "sglang", body: "context_length = 32768\nmem_fraction_static = 0.9\nkv_cache_dtype = \"fp8_e4m3\"\ncpu_kv_offload = \"64GB\""},
		{name: "nim's own names", kind: "nim", body: "max_model_len = 32768\nmodel_from = \"store\"\nair_gapped = true"},
		{name: "vllm's name on sglang", kind: "sglang", body: "max_model_len = 32768", wantErr: `SGLang (engine "sglang") has no setting "max_model_len". Its SGLang equivalent is "context_length".`},
		{name: "sglang's name on vllm", kind: "vllm", body: "mem_fraction_static = 0.5", wantErr: `vLLM (engine "vllm") has no setting "mem_fraction_static". Its vLLM equivalent is "gpu_memory_utilization".`},
		{name: "nim has no parsers", kind: "nim", body: "tool_call_parser = \"hermes\"", wantErr: `NVIDIA NIM (engine "nim") has no setting "tool_call_parser". ("tool_call_parser" is a setting of sglang and vllm.)`},
		{name: "vllm-only setting on sglang", kind: "sglang", body: "enable_prefix_caching = false", wantErr: `("enable_prefix_caching" is a setting of vllm.)`},
		{name: "sglang's kv dtype spelling", kind: "sglang", body: "kv_cache_dtype = \"fp8\"", wantErr: `kv_cache_dtype must be one of "auto", "fp8_e4m3", "fp8_e5m2"`},
		{name: "nim checks no api key", kind: "nim", body: "api_key = secret_env(\"K\")", wantErr: "NVIDIA NIM has no API key setting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testParser(t, map[string]string{"bp.hcl": engine(tc.kind, tc.body)})
			_, diags := p.Load("bp.hcl", lang.Inputs{Env: []string{"K=secret-value"}})
			details := errorDetails(diags)
			if tc.wantErr == "" {
				if len(details) != 0 {
					t.Fatalf("want no errors, got %v", details)
				}
				return
			}
			if len(details) != 1 || !strings.Contains(details[0], tc.wantErr) {
				t.Errorf("errors %s", cmp.Diff([]string{tc.wantErr}, details))
			}
		})
	}
}

// TestEngineImageOfItsKind: an engine on another kind's image is an error at
// the image naming the image and the kind's repositories, unless the
// blueprint says the image is a custom build.
func TestEngineImageOfItsKind(t *testing.T) {
	tests := []struct {
		name, kind, image, extra string
		wantErr                  string
	}{
		{name: "sglang on vLLM's image", kind: "sglang", image: testImage,
			wantErr: `is from none of SGLang's repositories ("docker.io/lmsysorg/sglang"); it is an image of vLLM. Use an image of SGLang, or set custom_image = true`},
		{name: "vllm on a private mirror", kind: "vllm", image: "registry.example.org/ml/vllm:v0.14.0",
			wantErr: `is from none of vLLM's repositories ("docker.io/vllm/vllm-openai"). Use an image of vLLM`},
		{name: "nim on a NIM image", kind: "nim", image: "nvcr.io/nim/qwen/qwen3-235b-a22b:1.13.1"},
		{name: "custom build", kind: "vllm", image: "registry.example.org/ml/vllm:v0.14.0", extra: "custom_image = true"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := testAppliance + testModel + `
engine "` + tc.kind + `" "e" {
  model = model.qwen3
  image = "` + tc.image + `"
  ` + tc.extra + `
}
`
			p := testParser(t, map[string]string{"bp.hcl": bp})
			_, diags := p.Load("bp.hcl", lang.Inputs{})
			if tc.wantErr == "" {
				if diags.HasErrors() {
					t.Fatalf("want no errors, got %v", errorDetails(diags))
				}
				return
			}
			if len(diags.Errs()) != 1 {
				t.Fatalf("want one error, got %v", errorDetails(diags))
			}
			d := diags[0]
			if !strings.Contains(d.Detail, tc.wantErr) || !strings.Contains(d.Detail, tc.image) {
				t.Errorf("detail %q, want it to name the image and contain %q", d.Detail, tc.wantErr)
			}
			imageLine := strings.Count(bp[:strings.Index(bp, "image =")], "\n") + 1
			if d.Subject == nil || d.Subject.Start.Line != imageLine {
				t.Errorf("subject %v, want the image attribute", d.Subject)
			}
		})
	}
}

// TestEngineSettingRanges: later phases point at what the blueprint wrote:
// each extra_args item of a list literal (several share a line), the whole
// attribute when the list is computed, and the kind's own settings.
func TestEngineSettingRanges(t *testing.T) {
	src := testAppliance + testModel + engineWith(`  extra_args = ["--enforce-eager", "--max-num-seqs", "64"]
  enable_prefix_caching = false`)
	eng := mustLoad(t, map[string]string{"bp.hcl": src}, "bp.hcl", lang.Inputs{}).Engines[0]
	for i, word := range eng.ExtraArgs {
		r := eng.RangeOfExtraArg(i)
		if got := src[r.Start.Byte:r.End.Byte]; got != `"`+word+`"` {
			t.Errorf("extra_args item %d: range covers %q, want %q", i+1, got, `"`+word+`"`)
		}
	}
	if r := eng.RangeOfOwn("enable_prefix_caching"); src[r.Start.Byte:r.End.Byte] != "false" {
		t.Errorf("enable_prefix_caching's range covers %q", src[r.Start.Byte:r.End.Byte])
	}

	src = testAppliance + testModel + engineWith(`  extra_args = concat(["--enforce-eager"], ["--max-num-seqs", "64"])`)
	eng = mustLoad(t, map[string]string{"bp.hcl": src}, "bp.hcl", lang.Inputs{}).Engines[0]
	for i := range eng.ExtraArgs {
		if r := eng.RangeOfExtraArg(i); !strings.HasPrefix(src[r.Start.Byte:r.End.Byte], "concat(") {
			t.Errorf("computed extra_args item %d covers %q, want the whole attribute", i+1, src[r.Start.Byte:r.End.Byte])
		}
	}
}

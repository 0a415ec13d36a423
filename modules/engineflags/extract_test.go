package engineflags

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.json from the extractor's output")

// TestExtractor runs extract/extract_flags.py on two small synthetic
// checkouts shaped like vLLM's and SGLang's parser code (with third-party
// imports the extractor has to stub) and checks that what it writes is a
// table this package reads, with the flags, switches, choices, aliases and
// provenance of those parsers.
func TestExtractor(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed to run the flag extractor")
		}
		t.Skip("python3 not installed")
	}
	cases := []struct {
		engine, release, checkout string
		check                     func(t *testing.T, r *Release)
	}{
		{"vllm", "v0.0.1", "testdata/vllm-checkout", func(t *testing.T, r *Release) {
			if f := r.Flags["--kv-cache-dtype"]; !slices.Equal(f.Choices, []string{"auto", "fp8", "fp8_e5m2"}) || f.Value != ValueRequired {
				t.Errorf("--kv-cache-dtype = %+v, want the Literal's choices and a value", f)
			}
			if f := r.Flags["--no-enable-prefix-caching"]; f.Dest != "enable_prefix_caching" || f.Value != ValueNone {
				t.Errorf("the BooleanOptionalAction twin = %+v", f)
			}
			q := r.Flags["--quantization"]
			if !slices.Contains(q.Choices, "awq_marlin") || !slices.Equal(q.DeprecatedChoices, []string{"gptq"}) || q.ChoicesCheckedBy == "" {
				t.Errorf("--quantization = %+v, want QUANTIZATION_METHODS read from the source", q)
			}
			if f := r.Flags["--tool-call-parser"]; !slices.Equal(f.Choices, []string{"hermes", "mistral", "qwen3_xml"}) || f.ChoicesExtendedBy != "--tool-parser-plugin" {
				t.Errorf("--tool-call-parser = %+v, want _TOOL_PARSERS_TO_REGISTER's keys and the decorated parser, extended by the plugin flag", f)
			}
			if f := r.Flags["--reasoning-parser"]; !slices.Equal(f.Choices, []string{"deepseek_r1", "qwen3", "qwen3_thinking"}) || f.ChoicesExtendedBy != "" {
				t.Errorf("--reasoning-parser = %+v, want the lazy registry's and the decorator's names (no plugin flag in this release)", f)
			}
			if r.Aliases["-tp"] != "--tensor-parallel-size" || r.Aliases["-q"] != "--quantization" {
				t.Errorf("aliases = %v", r.Aliases)
			}
			if _, ok := r.Flags["--help"]; ok {
				t.Error("--help is argparse's, not the engine's")
			}
		}},
		{"sglang", "v0.0.2", "testdata/sglang-checkout", func(t *testing.T, r *Release) {
			if a, b := r.Flags["--model"], r.Flags["--model-path"]; a.Dest != "model_path" || b.Dest != a.Dest || a.Value != b.Value {
				t.Errorf("the long alias --model = %+v, --model-path = %+v", a, b)
			}
			if f := r.Flags["--enable-metrics"]; f.Value != ValueNone {
				t.Errorf("store_true --enable-metrics = %+v", f)
			}
			if f := r.Flags["--tool-call-parser"]; !slices.Equal(f.Choices, []string{"llama3", "qwen25"}) {
				t.Errorf("choices computed by the engine's own module = %v", f.Choices)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.engine, func(t *testing.T) {
			cmd := exec.Command(python, "extract/extract_flags.py", "--engine", c.engine, "--checkout", c.checkout,
				"--release", c.release, "--repository", "https://example.invalid/"+c.engine,
				"--commit", "0123456789abcdef0123456789abcdef01234567", "--tag", c.release)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("extract_flags.py: %v\n%s", err, stderr.Bytes())
			}
			r, err := Parse(out)
			if err != nil {
				t.Fatalf("the extractor's table does not load: %v\n%s", err, out)
			}
			if r.Engine != c.engine || r.Version != c.release || r.Source.Commit == "" || r.Source.Method == "" || len(r.Source.Files) == 0 {
				t.Errorf("provenance: %+v", r.Source)
			}
			for _, f := range r.Source.Files {
				if _, err := os.Stat(filepath.Join(c.checkout, f)); err != nil {
					t.Errorf("source file %s is not in the checkout: %v", f, err)
				}
			}
			c.check(t, r)

			want := filepath.Join("testdata", c.engine+".want.json")
			if *update {
				if err := os.WriteFile(want, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, out) {
				t.Errorf("the table differs from %s (go test -run TestExtractor -update rewrites it):\n%s", want, out)
			}
		})
	}
}

// TestExtractorRefusesMissingOwnModule: only third-party modules are
// stubbed; a module of the engine itself that is missing means the
// checkout is not the parser's source, and extraction fails.
func TestExtractorRefusesMissingOwnModule(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed to run the flag extractor")
		}
		t.Skip("python3 not installed")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "python/sglang/srt"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "from sglang.srt.missing import x\n"
	if err := os.WriteFile(filepath.Join(dir, "python/sglang/srt/server_args.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "extract/extract_flags.py", "--engine", "sglang", "--checkout", dir,
		"--release", "v0.0.3", "--repository", "r", "--commit", "c").CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("sglang.srt.missing")) {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
}

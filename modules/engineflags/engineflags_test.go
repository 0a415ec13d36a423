package engineflags

import (
	"slices"
	"strings"
	"testing"
)

func TestTablesLoadWithProvenance(t *testing.T) {
	if loadError != nil {
		t.Fatal(loadError)
	}
	want := map[string][]string{"vllm": {"v0.11.0", "v0.14.0"}, "sglang": {"v0.5.9"}}
	for engine, versions := range want {
		if got := Known(engine); !slices.Equal(got, versions) {
			t.Errorf("Known(%s) = %v, want %v", engine, got, versions)
		}
		for _, v := range versions {
			r, err := Lookup(engine, v)
			if err != nil {
				t.Fatal(err)
			}
			s := r.Source
			if !strings.HasPrefix(s.Repository, "https://github.com/") || len(s.Commit) != 40 || s.Tag != v || len(s.Files) == 0 || s.Method == "" {
				t.Errorf("%s: provenance incomplete: %+v", r, s)
			}
		}
	}
	// The counts of long options each release's parser registers, less
	// argparse's own --help.
	for _, c := range []struct {
		engine, version string
		flags           int
	}{{"vllm", "v0.14.0", 261}, {"vllm", "v0.11.0", 228}, {"sglang", "v0.5.9", 341}} {
		r, _ := Lookup(c.engine, c.version)
		if len(r.Flags) != c.flags {
			t.Errorf("%s has %d flags, want %d", r, len(r.Flags), c.flags)
		}
	}
}

func TestVersionOf(t *testing.T) {
	for ref, want := range map[string]string{
		"docker.io/vllm/vllm-openai:v0.14.0":                                 "v0.14.0",
		"docker.io/vllm/vllm-openai:v0.14.0-cu130":                           "v0.14.0",
		"docker.io/lmsysorg/sglang:v0.5.9@sha256:" + strings.Repeat("a", 64): "v0.5.9",
		"registry.local:5000/vllm-openai:v0.11.0":                            "v0.11.0",
		"registry.local:5000/vllm-openai":                                    "",
		"docker.io/vllm/vllm-openai:latest":                                  "",
		"docker.io/vllm/vllm-openai@sha256:" + strings.Repeat("b", 64):       "",
		"docker.io/vllm/vllm-openai:v0.14":                                   "",
	} {
		if got := VersionOf(ref); got != want {
			t.Errorf("VersionOf(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestUnknownReleaseNamesTheKnownOnes(t *testing.T) {
	_, err := ForImage("vllm", "docker.io/vllm/vllm-openai:v0.99.0")
	if err == nil || !strings.Contains(err.Error(), "vLLM v0.99.0") || !strings.Contains(err.Error(), "v0.11.0, v0.14.0") {
		t.Errorf("err = %v", err)
	}
	_, err = ForImage("sglang", "docker.io/lmsysorg/sglang:latest")
	if err == nil || !strings.Contains(err.Error(), "unknown release") || !strings.Contains(err.Error(), "v0.5.9") {
		t.Errorf("err = %v", err)
	}
}

// check splits and checks one command line, returning "W:" or "E:" and
// each problem's summary and detail.
func check(t *testing.T, engine, version string, words ...string) []string {
	t.Helper()
	r, err := Lookup(engine, version)
	if err != nil {
		t.Fatal(err)
	}
	args, problems := r.Split(words)
	problems = append(problems, r.Check(args)...)
	var out []string
	for _, p := range problems {
		kind := "E: "
		if p.Warning {
			kind = "W: "
		}
		out = append(out, kind+p.Summary+": "+p.Detail+" @"+words[p.Index])
	}
	return out
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name            string
		engine, version string
		words           []string
		want            []string // substrings, one per problem, in order
	}{
		{"the reference vLLM command line", "vllm", "v0.14.0", []string{
			"--model", "/models/main", "--served-model-name", "coop", "--host", "127.0.0.1", "--port", "8000",
			"--tensor-parallel-size", "1", "--max-model-len", "32768", "--kv-cache-dtype", "fp8",
			"--gpu-memory-utilization", "0.95", "--enable-prefix-caching", "--enable-auto-tool-choice",
			"--tool-call-parser", "hermes", "--kv-offloading-backend", "native", "--kv-offloading-size", "64",
		}, []string{"W: Value not checked: vLLM v0.14.0's --tool-call-parser is given \"hermes\""}},
		{"a flag another release removed", "vllm", "v0.14.0", []string{"--max-model-len", "8192", "--rope-theta", "1e6"},
			[]string{"E: Flag not in this engine release: vLLM v0.14.0 has no flag --rope-theta. @--rope-theta"}},
		{"a flag that came later", "vllm", "v0.11.0", []string{"--kv-offloading-size", "64"},
			[]string{"E: Flag not in this engine release: vLLM v0.11.0 has no flag --kv-offloading-size"}},
		{"a misspelt flag", "vllm", "v0.14.0", []string{"--max-num-seq", "8"},
			[]string{"W: Abbreviated flag: vLLM v0.14.0 reads --max-num-seq as --max-num-seqs"}},
		{"a typo", "vllm", "v0.14.0", []string{"--kv-cahce-dtype", "fp8"},
			[]string{"has no flag --kv-cahce-dtype. Did you mean --kv-cache-dtype?"}},
		{"a KV dtype the release lacks", "vllm", "v0.11.0", []string{"--kv-cache-dtype", "fp8_ds_mla"},
			[]string{"E: Value not accepted by this engine release: vLLM v0.11.0's --kv-cache-dtype accepts auto, bfloat16, fp8, fp8_e4m3, fp8_e5m2, fp8_inc, not \"fp8_ds_mla\""}},
		{"SGLang's KV dtypes are not vLLM's", "sglang", "v0.5.9", []string{"--kv-cache-dtype", "fp8"},
			[]string{"SGLang v0.5.9's --kv-cache-dtype accepts auto, bf16, bfloat16, fp4_e2m1, fp8_e4m3, fp8_e5m2, not \"fp8\". Did you mean fp8_e4m3 or fp8_e5m2?"}},
		{"a quantization vLLM checks after parsing", "vllm", "v0.14.0", []string{"-q", "awq_marlin2"},
			[]string{"its parser takes any string; ModelConfig._verify_quantization (QUANTIZATION_METHODS) refuses others at start-up"}},
		{"a deprecated quantization without its gate", "vllm", "v0.14.0", []string{"--quantization", "gptq_bitblas"},
			[]string{"E: Deprecated value refused by this engine release: vLLM v0.14.0 deprecates --quantization gptq_bitblas"}},
		{"a deprecated quantization with its gate", "vllm", "v0.14.0", []string{"--quantization", "gptq_bitblas", "--allow-deprecated-quantization"}, nil},
		{"a switch given a value", "vllm", "v0.14.0", []string{"--enforce-eager=true"},
			[]string{"E: Flag takes no value: vLLM v0.14.0's --enforce-eager is a switch"}},
		{"a stray word", "vllm", "v0.14.0", []string{"--enforce-eager", "true"},
			[]string{"E: Not a flag: \"true\" is not a flag of vLLM v0.14.0"}},
		{"a value missing", "vllm", "v0.14.0", []string{"--kv-cache-dtype", "--enforce-eager"},
			[]string{"E: Flag needs a value: vLLM v0.14.0's --kv-cache-dtype needs a value."}},
		{"vLLM's own spellings", "vllm", "v0.14.0", []string{"--max_num_seqs", "8", "--compilation-config.mode", "3", "-tp", "1", "--max-model-len=-1"}, nil},
		{"a setting given twice", "vllm", "v0.14.0", []string{"--max-num-seqs", "8", "--max_num_seqs", "16"},
			[]string{"W: Setting given twice: --max-num-seqs and --max_num_seqs set the same thing (max_num_seqs)"}},
		{"a --no- twin after its switch", "vllm", "v0.14.0", []string{"--enable-prefix-caching", "--no-enable-prefix-caching"},
			[]string{"W: Setting given twice"}},
		{"a deprecated flag", "vllm", "v0.14.0", []string{"--disable-log-requests"},
			[]string{"W: Deprecated flag: vLLM v0.14.0 deprecates --disable-log-requests"}},
		{"CUDA graph sizes by their v0.11.0 name", "vllm", "v0.14.0", []string{"--cuda-graph-sizes", "64"},
			[]string{"E: Flag not in this engine release: vLLM v0.14.0 has no flag --cuda-graph-sizes. Its replacement here is --cudagraph-capture-sizes (a list of batch sizes) or --max-cudagraph-capture-size"}},
		{"CUDA graph sizes by their v0.14.0 name", "vllm", "v0.11.0", []string{"--cudagraph-capture-sizes", "1", "2", "4"},
			[]string{"vLLM v0.11.0 has no flag --cudagraph-capture-sizes. Its replacement here is --cuda-graph-sizes"}},
		{"the largest CUDA graph size by its v0.14.0 name", "vllm", "v0.11.0", []string{"--max-cudagraph-capture-size", "256"},
			[]string{"Its replacement here is --cuda-graph-sizes with one value"}},
		{"SGLang's long aliases, but not vLLM's underscores", "sglang", "v0.5.9", []string{"--tp-size", "1", "--context_length", "8192"},
			[]string{"E: Flag not in this engine release: SGLang v0.5.9 has no flag --context_length. Did you mean --context-length?"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := check(t, c.engine, c.version, c.words...)
			if len(got) != len(c.want) {
				t.Fatalf("problems:\n%s\nwant %d", strings.Join(got, "\n"), len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %s\nwant it to contain %s", i, got[i], w)
				}
			}
		})
	}
}

// TestParserNamesChecked: a parser the release does not register is an
// error naming the ones it does, unless the plugin flag that loads more
// parsers is given too.
func TestParserNamesChecked(t *testing.T) {
	r, err := Parse([]byte(`{"engine": "vllm", "release": "v0.0.9", "program": "vllm serve",
		"source": {"repository": "r", "commit": "c", "files": ["f"], "method": "m"},
		"flags": {
			"--tool-call-parser": {"dest": "tool_call_parser", "value": "required", "choices": ["hermes", "qwen3_xml"],
				"choices_checked_by": "ToolParserManager", "choices_extended_by": "--tool-parser-plugin"},
			"--tool-parser-plugin": {"dest": "tool_parser_plugin", "value": "required"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	problems := func(words ...string) []Problem {
		args, p := r.Split(words)
		return append(p, r.Check(args)...)
	}
	if got := problems("--tool-call-parser", "hermes"); len(got) != 0 {
		t.Errorf("a registered parser: %v", got)
	}
	got := problems("--tool-call-parser", "qwen3")
	if len(got) != 1 || got[0].Warning || !strings.Contains(got[0].Detail, "accepts hermes, qwen3_xml, not \"qwen3\"") {
		t.Errorf("an unregistered parser: %v", got)
	}
	if got := problems("--tool-call-parser", "mine", "--tool-parser-plugin", "/plugins/mine.py"); len(got) != 0 {
		t.Errorf("a plugin's parser: %v", got)
	}
	if _, err := Parse([]byte(`{"engine": "vllm", "release": "v0.0.9", "program": "p",
		"source": {"repository": "r", "commit": "c", "files": ["f"], "method": "m"},
		"flags": {"--tool-call-parser": {"dest": "d", "choices": ["a"], "choices_extended_by": "--nope"}}}`)); err == nil {
		t.Error("a table whose choices are extended by a flag it lacks loaded")
	}
}

// TestParserValuesUncheckedAreWarned: the parser and SGLang quantization
// names the tables could not record from a release-exact source are not
// passed silently: each value is one warning, at the flag, that says it
// was not checked and why; the values the reference blueprints use give
// nothing worse than that warning.
func TestParserValuesUncheckedAreWarned(t *testing.T) {
	for _, c := range []struct{ engine, version, flag, value string }{
		{"vllm", "v0.11.0", "--tool-call-parser", "hermes"},
		{"vllm", "v0.11.0", "--reasoning-parser", "deepseek_r1"},
		{"vllm", "v0.14.0", "--tool-call-parser", "hermes"},
		{"vllm", "v0.14.0", "--reasoning-parser", "deepseek_r1"},
		{"sglang", "v0.5.9", "--tool-call-parser", "qwen25"},
		{"sglang", "v0.5.9", "--reasoning-parser", "deepseek-r1"},
		{"sglang", "v0.5.9", "--quantization", "awq_marlin"},
	} {
		got := check(t, c.engine, c.version, "--port", "8000", c.flag, c.value)
		want := "W: Value not checked: " + displayName(c.engine) + " " + c.version + "'s " + c.flag + " is given \"" + c.value + "\", which sovereign cannot check against this release: "
		if len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.Contains(got[0], "not at the tag's commit") || !strings.HasSuffix(got[0], "@"+c.flag) {
			t.Errorf("%s %s %s %s: problems %q\nwant one starting %q", c.engine, c.version, c.flag, c.value, got, want)
		}
	}
	// The flags whose values are checked are not warned about.
	if got := check(t, "vllm", "v0.14.0", "--quantization", "awq_marlin"); len(got) != 0 {
		t.Errorf("a checked value was warned about: %q", got)
	}
	if _, err := Parse([]byte(`{"engine": "vllm", "release": "v0.0.9", "program": "p",
		"source": {"repository": "r", "commit": "c", "files": ["f"], "method": "m"},
		"flags": {"--reasoning-parser": {"dest": "d", "choices": ["a"], "choices_unchecked": "why"}}}`)); err == nil {
		t.Error("a table whose flag has choices and says they are not checked loaded")
	}
}

package engineflags

import (
	"strings"
	"testing"
)

// launch splits a command line with vLLM v0.14.0's table, as the engine
// modules' extra_args are read.
func launch(t *testing.T, engine, weights string, words ...string) Launch {
	t.Helper()
	return launchAt(t, engine, map[string]string{"vllm": "v0.14.0", "sglang": "v0.5.9"}[engine], weights, words...)
}

// launchAt splits a command line with one release's table.
func launchAt(t *testing.T, engine, version, weights string, words ...string) Launch {
	t.Helper()
	r, err := Lookup(engine, version)
	if err != nil {
		t.Fatal(err)
	}
	args, problems := r.Split(words)
	if len(problems) > 0 {
		t.Fatalf("%v", problems)
	}
	return Launch{Engine: engine, Weights: weights, Args: args, Release: r}
}

func TestSpeedRules(t *testing.T) {
	cases := []struct {
		name    string
		l       func(t *testing.T) Launch
		rule    string // "" when no rule fires
		warning bool
		index   int
		explain []string
	}{
		{"AWQ weights with the AWQ kernel forced", func(t *testing.T) Launch {
			return launch(t, "vllm", "awq-int4", "--max-model-len", "32768", "--quantization", "awq")
		}, "vllm-awq-kernel", true, 2, []string{"--quantization awq", "not fully optimized yet", "uses awq_marlin", "13.7 tokens/s with awq, 126.7 with awq_marlin"}},
		{"the short alias and = form are the same flag", func(t *testing.T) Launch {
			return launch(t, "vllm", "awq-int4", "-q", "awq")
		}, "vllm-awq-kernel", true, 0, nil},
		{"AWQ weights left to vLLM's detection", func(t *testing.T) Launch {
			return launch(t, "vllm", "awq-int4", "--max-model-len", "32768")
		}, "", false, 0, nil},
		{"AWQ weights with the Marlin kernel named", func(t *testing.T) Launch {
			return launch(t, "vllm", "awq-int4", "--quantization=awq_marlin")
		}, "", false, 0, nil},
		{"a later value overrides the slow one", func(t *testing.T) Launch {
			return launch(t, "vllm", "awq-int4", "--quantization", "awq", "--quantization", "awq_marlin")
		}, "", false, 0, nil},
		{"GPTQ weights with the GPTQ kernel forced", func(t *testing.T) Launch {
			return launch(t, "vllm", "gptq-int4", "--quantization", "gptq")
		}, "vllm-gptq-kernel", true, 0, []string{"gptq-int4 weights", "uses gptq_marlin"}},
		{"SGLang asked to quantize a quantized checkpoint", func(t *testing.T) Launch {
			return launch(t, "sglang", "awq-int4", "--context-length", "8192", "--quantization", "awq")
		}, "sglang-quantization-on-prequantized", true, 2, []string{"awq-int4 weights are quantized already", "not to add --quantization (here awq)", "Leave quantization unset"}},
		{"SGLang reading the method from the checkpoint", func(t *testing.T) Launch {
			return launch(t, "sglang", "fp8", "--context-length", "8192")
		}, "", false, 0, nil},
		{"SGLang quantizing bf16 weights online", func(t *testing.T) Launch {
			return launch(t, "sglang", "bf16", "--quantization", "fp8")
		}, "", false, 0, nil},
		{"CUDA graphs off", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-model-len", "8192", "--enforce-eager")
		}, "vllm-enforce-eager", true, 2, []string{"disables vLLM's CUDA graphs", "maximal performance"}},
		{"chunked prefill off with a budget below the context", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-model-len", "32768", "--max-num-batched-tokens", "8192", "--no-enable-chunked-prefill")
		}, "vllm-unchunked-prefill-budget", false, 4, []string{"(8192) above --max-model-len (32768)", "may crash at start-up"}},
		{"CUDA graph sizes below the batch", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-num-seqs", "80", "--cudagraph-capture-sizes", "1", "2", "4", "8", "16", "32")
		}, "vllm-cudagraph-below-max-num-seqs", true, 2, []string{"at most 32 sequences", "--max-num-seqs lets 80", "without a CUDA graph", "min(2 × max_num_seqs, 512)"}},
		{"the largest CUDA graph size below the batch", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-cudagraph-capture-size", "64", "--max-num-seqs", "80")
		}, "vllm-cudagraph-below-max-num-seqs", true, 0, []string{"--max-cudagraph-capture-size captures CUDA graphs for decode batches of at most 64"}},
		{"v0.11.0's --cuda-graph-sizes below the batch", func(t *testing.T) Launch {
			return launchAt(t, "vllm", "v0.11.0", "bf16", "--max-num-seqs", "256", "--cuda-graph-sizes", "128")
		}, "vllm-cudagraph-below-max-num-seqs", true, 2, []string{"at most 128 sequences"}},
		{"a CUDA graph flag the release refuses is left to the flag check", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-num-seqs", "80", "--cuda-graph-sizes", "8")
		}, "", false, 0, nil},
		{"CUDA graph sizes that cover the batch", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-num-seqs", "80", "--cudagraph-capture-sizes", "1", "8", "32", "80")
		}, "", false, 0, nil},
		{"CUDA graph sizes left to vLLM", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-num-seqs", "80")
		}, "", false, 0, nil},
		{"chunked prefill off with a budget above the context", func(t *testing.T) Launch {
			return launch(t, "vllm", "bf16", "--max-model-len", "8192", "--max-num-batched-tokens", "16384", "--no-enable-chunked-prefill")
		}, "", false, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			found := SpeedFindings(c.l(t))
			if c.rule == "" {
				if len(found) > 0 {
					t.Fatalf("unexpected: %+v", found)
				}
				return
			}
			if len(found) != 1 {
				t.Fatalf("findings = %+v, want %s", found, c.rule)
			}
			f := found[0]
			if f.Rule != c.rule || f.Warning != c.warning || f.Index != c.index {
				t.Errorf("finding = %+v, want rule %s warning %v at word %d", f, c.rule, c.warning, c.index)
			}
			for _, e := range c.explain {
				if !strings.Contains(f.Detail, e) {
					t.Errorf("detail %q does not explain %q", f.Detail, e)
				}
			}
		})
	}
}

// TestSpeedFlagsExist: every option the parity check treats as
// speed-relevant is a flag of some known release of its engine, so that a
// typo here cannot hide a difference.
func TestSpeedFlagsExist(t *testing.T) {
	for engine, flags := range speedFlags {
		for _, f := range flags {
			found := false
			for _, v := range Known(engine) {
				r, _ := Lookup(engine, v)
				if _, ok := r.Flags[f]; ok {
					found = true
				}
			}
			if !found {
				t.Errorf("%s %s is in no known release", engine, f)
			}
		}
	}
	if !SpeedRelevant("vllm", "--no-enable-prefix-caching") || SpeedRelevant("vllm", "--port") {
		t.Error("SpeedRelevant misjudges --no-enable-prefix-caching or --port")
	}
}

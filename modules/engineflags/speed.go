package engineflags

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Launch is what the speed rules look at: one engine's command line for a
// release, and the checkpoint format it serves.
type Launch struct {
	// Engine is the engine kind: "vllm" or "sglang".
	Engine string
	// Weights is the checkpoint's format: bf16, fp8, awq-int4, gptq-int4
	// or nvfp4.
	Weights string
	Args    []Arg
	// Release is the table the Args were read with, when known: a rule
	// then leaves alone a flag the release refuses anyway.
	Release *Release
}

// Finding is a speed rule that fired: a setting that makes the engine
// slower than it needs to be, or that the engine refuses at start-up.
type Finding struct {
	// Rule names the rule, for tests and for people searching the source.
	Rule string
	// Index is the Arg's Index.
	Index   int
	Warning bool
	Summary string
	Detail  string
}

// speedRule checks one Launch. Each rule cites, in a comment, the upstream
// source that states the trap; nothing here is folklore.
type speedRule func(l Launch) []Finding

var speedRules = []speedRule{slowAWQKernel, slowGPTQKernel, eagerMode, unchunkedPrefillBudget, cudaGraphsBelowBatch, sglangQuantizationOnQuantized}

// SpeedFindings runs every speed rule on a launch.
func SpeedFindings(l Launch) []Finding {
	var out []Finding
	for _, rule := range speedRules {
		out = append(out, rule(l)...)
	}
	return out
}

// value is the last value given for a flag (the one argparse keeps), and
// the Arg it came from.
func (l Launch) value(flag string) (string, Arg, bool) {
	for i := len(l.Args) - 1; i >= 0; i-- {
		if a := l.Args[i]; a.LongName() == flag && len(a.Values) > 0 {
			return a.Values[len(a.Values)-1], a, true
		}
	}
	return "", Arg{}, false
}

// IntValue is the last value given for flag (by its long name), when it is
// a whole number.
func (l Launch) IntValue(flag string) (int, bool) {
	v, _, ok := l.value(flag)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func (l Launch) has(flag string) (Arg, bool) {
	i := slices.IndexFunc(l.Args, func(a Arg) bool { return a.LongName() == flag })
	if i < 0 {
		return Arg{}, false
	}
	return l.Args[i], true
}

// slowAWQKernel: vLLM runs an AWQ checkpoint with its Marlin kernel
// (awq_marlin) when --quantization is left out or names awq_marlin. An
// explicit --quantization awq forces the older kernel:
// vllm/model_executor/layers/quantization/awq_marlin.py,
// AWQMarlinConfig.override_quantization_method, logs "Detected that the
// model can run with awq_marlin, however you specified quantization=awq
// explicitly, so forcing awq. Use quantization=awq_marlin for faster
// inference", and ModelConfig._verify_quantization (vllm/config/model.py)
// warns that "awq quantization is not fully optimized yet. The speed can be
// slower than non-quantized models" (awq is not in its
// optimized_quantization_methods; awq_marlin is). Both are in v0.11.0 and
// v0.14.0.
func slowAWQKernel(l Launch) []Finding {
	return forcedSlowKernel(l, "awq-int4", "awq", "awq_marlin", "vllm-awq-kernel")
}

// slowGPTQKernel is the same trap for GPTQ checkpoints:
// vllm/model_executor/layers/quantization/gptq_marlin.py,
// GPTQMarlinConfig.override_quantization_method, logs "Detected that the
// model can run with gptq_marlin, however you specified quantization=gptq
// explicitly, so forcing gptq. Use quantization=gptq_marlin for faster
// inference"; gptq is not in _verify_quantization's optimized methods.
func slowGPTQKernel(l Launch) []Finding {
	return forcedSlowKernel(l, "gptq-int4", "gptq", "gptq_marlin", "vllm-gptq-kernel")
}

func forcedSlowKernel(l Launch, weights, slow, fast, rule string) []Finding {
	if l.Engine != "vllm" || l.Weights != weights {
		return nil
	}
	v, a, ok := l.value("--quantization")
	if !ok || v != slow {
		return nil
	}
	return []Finding{{
		Rule: rule, Index: a.Index, Warning: true,
		Summary: "Slow quantization kernel",
		Detail: fmt.Sprintf("--quantization %s makes vLLM run these %s weights with its plain %s kernel, which it calls \"not fully optimized yet\" and slower than unquantized models; left unset, vLLM detects the checkpoint and uses %s (its Marlin kernel), and so does --quantization %s. One public measurement on the same model: 13.7 tokens/s with %s, 126.7 with %s.",
			slow, weights, slow, fast, fast, slow, fast),
	}}
}

// eagerMode: --enforce-eager turns CUDA graphs off. vLLM's own help for
// the flag (ModelConfig.enforce_eager, vllm/config/model.py): "Whether to
// always use eager-mode PyTorch. If True, we will disable CUDA graph and
// always execute the model in eager mode. If False, we will use CUDA graph
// and eager execution in hybrid for maximal performance and flexibility."
func eagerMode(l Launch) []Finding {
	if l.Engine != "vllm" {
		return nil
	}
	a, ok := l.has("--enforce-eager")
	if !ok {
		return nil
	}
	return []Finding{{
		Rule: "vllm-enforce-eager", Index: a.Index, Warning: true,
		Summary: "CUDA graphs off",
		Detail:  "--enforce-eager disables vLLM's CUDA graphs, which it uses otherwise \"for maximal performance\"; every decode step then launches its kernels one by one from Python. Use it to debug a start-up failure, not to serve.",
	}}
}

// unchunkedPrefillBudget: vLLM's docs/configuration/optimization.md:
// "When chunked prefill is disabled, max_num_batched_tokens must be
// greater than max_model_len. In that case, if max_num_batched_tokens <
// max_model_len, vLLM may crash at server start-up."
func unchunkedPrefillBudget(l Launch) []Finding {
	if l.Engine != "vllm" {
		return nil
	}
	off, ok := l.has("--no-enable-chunked-prefill")
	if !ok {
		return nil
	}
	budget, _, ok1 := l.value("--max-num-batched-tokens")
	maxLen, _, ok2 := l.value("--max-model-len")
	b, err1 := strconv.Atoi(budget)
	m, err2 := strconv.Atoi(maxLen)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || b > m {
		return nil
	}
	return []Finding{{
		Rule: "vllm-unchunked-prefill-budget", Index: off.Index,
		Summary: "Prefill budget below the context",
		Detail:  fmt.Sprintf("With chunked prefill off, vLLM needs --max-num-batched-tokens (%d) above --max-model-len (%d) and may crash at start-up otherwise. Keep chunked prefill on (the default), or raise the budget.", b, m),
	}}
}

// cudaGraphsBelowBatch: an explicit CUDA graph capture size below
// --max-num-seqs leaves the larger decode batches without CUDA graphs.
// vLLM v0.14.0's help for --max-cudagraph-capture-size
// (CompilationConfig.max_cudagraph_capture_size, vllm/config/compilation.py)
// says it is the largest size of --cudagraph-capture-sizes and defaults to
// min(max_num_seqs*2, 512); vLLM's dispatcher
// (vllm/v1/cudagraph_dispatcher.py, CudagraphDispatcher.dispatch) runs a
// batch of more tokens than that without a CUDA graph. v0.11.0's
// --cuda-graph-sizes (SchedulerConfig.cuda_graph_sizes,
// vllm/config/scheduler.py) is the same setting: one value N captures
// 1, 2, 4 and multiples of 8 up to N, several values capture those.
func cudaGraphsBelowBatch(l Launch) []Finding {
	if l.Engine != "vllm" {
		return nil
	}
	seqs, ok := l.IntValue("--max-num-seqs")
	if !ok {
		return nil
	}
	var largest int
	var from Arg
	for _, flag := range []string{"--cudagraph-capture-sizes", "--cuda-graph-sizes", "--max-cudagraph-capture-size"} {
		a, ok := l.last(flag)
		if _, known := l.Release.flag(flag); !ok || !known {
			continue
		}
		for _, v := range a.Values {
			for _, field := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '[' || r == ']' || r == ' ' }) {
				if n, err := strconv.Atoi(field); err == nil && n > largest {
					largest, from = n, a
				}
			}
		}
	}
	if largest == 0 || largest >= seqs {
		return nil
	}
	return []Finding{{
		Rule: "vllm-cudagraph-below-max-num-seqs", Index: from.Index, Warning: true,
		Summary: "CUDA graphs stop below the batch",
		Detail: fmt.Sprintf("%s captures CUDA graphs for decode batches of at most %d sequences, but --max-num-seqs lets %d run at once: vLLM runs every larger batch without a CUDA graph, launching its kernels one by one, when it is busiest. Leave the capture sizes unset (vLLM then captures up to min(2 × max_num_seqs, 512)) or raise the largest to %d.",
			from.Flag, largest, seqs, seqs),
	}}
}

// flag is the release's entry for a long name; with no release, every
// flag is taken as known.
func (r *Release) flag(name string) (Flag, bool) {
	if r == nil {
		return Flag{}, true
	}
	f, ok := r.Flags[name]
	return f, ok
}

// sglangQuantizationOnQuantized: SGLang's quantization guide
// (docs/advanced_features/quantization.md, docs.sglang.io): "If you use a
// pre-quantized model, do not add --quantization to enable online
// quantization at the same time", and "if the model has been quantized
// offline, there's no need to add --quantization argument when starting
// the engine"; "for better performance, usability and convenience,
// offline quantization is recommended over online quantization". (The
// guide as published now; not read at the v0.5.9 tag.)
func sglangQuantizationOnQuantized(l Launch) []Finding {
	if l.Engine != "sglang" || l.Weights == "" || l.Weights == "bf16" {
		return nil
	}
	v, a, ok := l.value("--quantization")
	if !ok {
		return nil
	}
	return []Finding{{
		Rule: "sglang-quantization-on-prequantized", Index: a.Index, Warning: true,
		Summary: "Quantization named for a quantized checkpoint",
		Detail:  fmt.Sprintf("These %s weights are quantized already, and SGLang reads their method from the checkpoint's config; its quantization guide says not to add --quantization (here %s) to a pre-quantized model, which asks for online quantization on top. Leave quantization unset.", l.Weights, v),
	}}
}

// last is the last Arg that sets flag (by its long name).
func (l Launch) last(flag string) (Arg, bool) {
	for i := len(l.Args) - 1; i >= 0; i-- {
		if l.Args[i].LongName() == flag {
			return l.Args[i], true
		}
	}
	return Arg{}, false
}

// speedFlags are the options that change how fast an engine serves, not
// what it serves: kernels and precision, batching and scheduling, CUDA
// graphs and compilation, caching, parallelism. An audition that runs
// with different ones measures another engine's speed.
var speedFlags = map[string][]string{
	"vllm": {
		"--all2all-backend", "--async-scheduling", "--attention-backend", "--attention-config",
		"--block-size", "--compilation-config", "--cuda-graph-sizes", "--cudagraph-capture-sizes",
		"--data-parallel-size", "--enable-chunked-prefill", "--enable-dbo", "--enable-expert-parallel",
		"--enable-prefix-caching", "--enforce-eager", "--kv-cache-dtype", "--max-cudagraph-capture-size",
		"--max-num-batched-tokens", "--max-num-partial-prefills", "--max-num-seqs", "--optimization-level",
		"--pipeline-parallel-size", "--quantization", "--speculative-config", "--tensor-parallel-size",
	},
	"sglang": {
		"--attention-backend", "--chunked-prefill-size", "--cuda-graph-bs", "--cuda-graph-max-bs",
		"--decode-attention-backend", "--disable-cuda-graph", "--disable-radix-cache", "--enable-torch-compile",
		"--expert-parallel-size", "--kv-cache-dtype", "--max-running-requests", "--moe-runner-backend",
		"--prefill-attention-backend", "--quantization", "--schedule-policy", "--speculative-algorithm",
		"--tensor-parallel-size",
	},
}

// SpeedRelevant reports whether an option of the engine changes its speed.
// A --no- twin counts as its switch.
func SpeedRelevant(engine, longName string) bool {
	if slices.Contains(speedFlags[engine], longName) {
		return true
	}
	if rest, ok := strings.CutPrefix(longName, "--no-"); ok {
		return slices.Contains(speedFlags[engine], "--"+rest)
	}
	return false
}

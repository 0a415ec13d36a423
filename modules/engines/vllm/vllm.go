// Package vllm is the engine kind "vllm": vLLM's OpenAI-compatible server,
// run from its own image on one loopback port.
package vllm

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
)

// containerCacheDir is where vLLM keeps its torch.compile and CUDA graph
// caches inside the container; it is mounted from the host so that a restart
// does not recompile for minutes.
const containerCacheDir = "/var/cache/vllm"

// Settings are the options only vLLM has.
type Settings struct {
	EnablePrefixCaching bool
	// KVOffloadBackend is "native" or "lmcache", for CPUKVOffloadBytes.
	KVOffloadBackend string
}

// Kind is vLLM.
var Kind = &engine.Kind{
	EngineKind: spec.EngineKind{
		Name:    "vllm",
		Display: "vLLM",
		Settings: map[spec.Setting]string{
			spec.SettingMaxModelLen: "max_model_len", spec.SettingMemoryFraction: "gpu_memory_utilization", spec.SettingKVCacheDType: "kv_cache_dtype",
			spec.SettingQuantization: "quantization", spec.SettingTensorParallel: "tensor_parallel_size", spec.SettingToolCallParser: "tool_call_parser",
			spec.SettingReasoningParser: "reasoning_parser", spec.SettingCPUKVOffload: "cpu_kv_offload",
			spec.SettingMaxNumSeqs: "max_num_seqs", spec.SettingMaxNumBatchedTokens: "max_num_batched_tokens",
		},
		Own:    []string{"enable_prefix_caching", "kv_offload_backend"},
		Decode: decode,
		// fp8 means fp8_e4m3 on CUDA.
		KVCacheDTypes: []spec.KVCacheDType{spec.KVAuto, spec.KVBFloat16, spec.KVFP8, spec.KVFP8E4M3, spec.KVFP8E5M2},
		Quantizations: []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"},
		// vLLM reads VLLM_API_KEY and then checks it on /v1 paths.
		APIKey: spec.EngineAPIKey{Env: "VLLM_API_KEY"},
		Images: []string{"docker.io/vllm/vllm-openai"},
		Flags: []spec.EngineFlag{{
			// The offloading shorthand flags came in v0.11.1; an older vLLM
			// would refuse to start after its image pull.
			Flag: "--kv-offloading-size", Setting: "cpu_kv_offload", Since: spec.Release{0, 11, 1},
			Otherwise: "Use a newer release, or configure a KV connector yourself with extra_args.",
		}},
	},
	HealthPath: "/health",
	FlagTables: "vllm",
	Container: engine.Container{
		Options: Options,
		Env: func(*spec.Engine, string) map[string]string {
			return map[string]string{"VLLM_CACHE_ROOT": containerCacheDir, "VLLM_NO_USAGE_STATS": "1"}
		},
		CacheMount: containerCacheDir,
	},
}

func decode(d spec.SettingsDecoder, eng *spec.Engine) {
	eng.Own = &Settings{
		EnablePrefixCaching: d.Bool("enable_prefix_caching", true),
		KVOffloadBackend:    d.OneOf("kv_offload_backend", "native", "native", "lmcache"),
	}
}

// Own returns eng's vLLM settings; the defaults when it has none.
func Own(eng *spec.Engine) *Settings {
	if s, ok := eng.Own.(*Settings); ok {
		return s
	}
	return &Settings{EnablePrefixCaching: true, KVOffloadBackend: "native"}
}

// Options are the server's options, after the image's entrypoint. --model
// (rather than the positional form) works with both entrypoints vLLM images
// have had: `python3 -m vllm.entrypoints.openai.api_server` and `vllm serve`.
func Options(eng *spec.Engine, modelMount string, derived engine.Tuning) []engine.Option {
	v := Own(eng)
	at := eng.DeclRange
	opts := []engine.Option{
		engine.SettingOpt(eng, spec.SettingModel, "--model", modelMount),
		engine.AttrOpt(eng, "served_model_name", "--served-model-name", eng.ServedModelName),
		engine.Opt(at, "--host", eng.ListenHost()),
		engine.AttrOpt(eng, "port", "--port", strconv.Itoa(eng.Port)),
		engine.SettingOpt(eng, spec.SettingTensorParallel, "--tensor-parallel-size", strconv.Itoa(eng.TensorParallelSize)),
	}
	if eng.MaxModelLen > 0 {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingMaxModelLen, "--max-model-len", strconv.Itoa(eng.MaxModelLen)))
	}
	opts = append(opts, engine.SettingOpt(eng, spec.SettingKVCacheDType, "--kv-cache-dtype", eng.KVCacheDType))
	if eng.MemoryFraction > 0 {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingMemoryFraction, "--gpu-memory-utilization", strconv.FormatFloat(eng.MemoryFraction, 'f', -1, 64)))
	}
	if eng.Quantization != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingQuantization, "--quantization", eng.Quantization))
	}
	if v.EnablePrefixCaching {
		opts = append(opts, engine.OwnOpt(eng, "enable_prefix_caching", "--enable-prefix-caching"))
	} else {
		opts = append(opts, engine.OwnOpt(eng, "enable_prefix_caching", "--no-enable-prefix-caching"))
	}
	if p := eng.ToolCallParser; p != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingToolCallParser, "--enable-auto-tool-choice"),
			engine.SettingOpt(eng, spec.SettingToolCallParser, "--tool-call-parser", p))
	}
	if p := eng.ReasoningParser; p != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingReasoningParser, "--reasoning-parser", p))
	}
	// The concurrency and batch budget the plan printed, or the
	// blueprint's own.
	if o, ok := engine.Tuned(eng, spec.SettingMaxNumSeqs, eng.MaxNumSeqs, derived.MaxNumSeqs, "--max-num-seqs"); ok {
		opts = append(opts, o)
	}
	if o, ok := engine.Tuned(eng, spec.SettingMaxNumBatchedTokens, eng.MaxNumBatchedTokens, derived.MaxNumBatchedTokens, "--max-num-batched-tokens"); ok {
		opts = append(opts, o)
	}
	if eng.CPUKVOffloadBytes > 0 {
		// The warm tier in CPU memory, with the shorthand flags of v0.11.1
		// and later; the size is GiB in total across tensor-parallel ranks.
		gib := float64(eng.CPUKVOffloadBytes) / (1 << 30)
		opts = append(opts, engine.OwnOpt(eng, "kv_offload_backend", "--kv-offloading-backend", v.KVOffloadBackend),
			engine.SettingOpt(eng, spec.SettingCPUKVOffload, "--kv-offloading-size", strconv.FormatFloat(gib, 'f', -1, 64)))
	}
	if eng.ReportsUsage {
		// The usage object in the last chunk of every stream, which the
		// gateway counts per member; a client that did not ask for it gets
		// one more chunk, with no choices.
		opts = append(opts, engine.Opt(at, "--enable-force-include-usage"))
	}
	return append(opts, engine.ExtraArgs(eng)...)
}

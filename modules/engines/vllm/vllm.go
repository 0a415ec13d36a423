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
	MaxNumSeqs          int
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
		},
		Own:    []string{"enable_prefix_caching", "max_num_seqs", "kv_offload_backend"},
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
	Container: engine.Container{
		Args: Args,
		Env: func(*spec.Engine, string) map[string]string {
			return map[string]string{"VLLM_CACHE_ROOT": containerCacheDir, "VLLM_NO_USAGE_STATS": "1"}
		},
		CacheMount: containerCacheDir,
	},
}

func decode(d spec.SettingsDecoder, eng *spec.Engine) {
	eng.Own = &Settings{
		EnablePrefixCaching: d.Bool("enable_prefix_caching", true),
		MaxNumSeqs:          d.Int("max_num_seqs", 0, 1, 65536),
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

// Args are the arguments after the image's entrypoint. --model (rather than
// the positional form) works with both entrypoints vLLM images have had:
// `python3 -m vllm.entrypoints.openai.api_server` and `vllm serve`.
func Args(eng *spec.Engine, modelMount string) []string {
	v := Own(eng)
	args := []string{
		"--model", modelMount,
		"--served-model-name", eng.ServedModelName,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(eng.Port),
		"--tensor-parallel-size", strconv.Itoa(eng.TensorParallelSize),
	}
	if eng.MaxModelLen > 0 {
		args = append(args, "--max-model-len", strconv.Itoa(eng.MaxModelLen))
	}
	args = append(args, "--kv-cache-dtype", eng.KVCacheDType)
	if eng.MemoryFraction > 0 {
		args = append(args, "--gpu-memory-utilization", strconv.FormatFloat(eng.MemoryFraction, 'f', -1, 64))
	}
	if eng.Quantization != "" {
		args = append(args, "--quantization", eng.Quantization)
	}
	if v.EnablePrefixCaching {
		args = append(args, "--enable-prefix-caching")
	} else {
		args = append(args, "--no-enable-prefix-caching")
	}
	if eng.ToolCallParser != "" {
		args = append(args, "--enable-auto-tool-choice", "--tool-call-parser", eng.ToolCallParser)
	}
	if eng.ReasoningParser != "" {
		args = append(args, "--reasoning-parser", eng.ReasoningParser)
	}
	if v.MaxNumSeqs > 0 {
		args = append(args, "--max-num-seqs", strconv.Itoa(v.MaxNumSeqs))
	}
	if eng.CPUKVOffloadBytes > 0 {
		// The warm tier in CPU memory, with the shorthand flags
		// of v0.11.1 and later; the size is GiB in total across
		// tensor-parallel ranks.
		gib := float64(eng.CPUKVOffloadBytes) / (1 << 30)
		args = append(args, "--kv-offloading-backend", v.KVOffloadBackend, "--kv-offloading-size", strconv.FormatFloat(gib, 'f', -1, 64))
	}
	return append(args, eng.ExtraArgs...)
}

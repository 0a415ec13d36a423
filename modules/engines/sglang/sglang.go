// Package sglang is the engine kind "sglang": SGLang's OpenAI-compatible
// server on one loopback port. SGLang's radix cache shares prefixes across
// conversation turns, which suits multi-turn chat.
package sglang

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
)

// Settings are the options only SGLang has.
type Settings struct {
	MaxRunningRequests int
}

// Kind is SGLang.
var Kind = &engine.Kind{
	EngineKind: spec.EngineKind{
		Name:    "sglang",
		Display: "SGLang",
		Settings: map[spec.Setting]string{
			spec.SettingMaxModelLen: "context_length", spec.SettingMemoryFraction: "mem_fraction_static", spec.SettingKVCacheDType: "kv_cache_dtype",
			spec.SettingQuantization: "quantization", spec.SettingTensorParallel: "tensor_parallel_size", spec.SettingToolCallParser: "tool_call_parser",
			spec.SettingReasoningParser: "reasoning_parser", spec.SettingCPUKVOffload: "cpu_kv_offload",
		},
		Own: []string{"max_running_requests"},
		Decode: func(d spec.SettingsDecoder, eng *spec.Engine) {
			eng.Own = &Settings{MaxRunningRequests: d.Int("max_running_requests", 0, 1, 65536)}
		},
		KVCacheDTypes: []spec.KVCacheDType{spec.KVAuto, spec.KVFP8E4M3, spec.KVFP8E5M2},
		Quantizations: []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"},
		// SGLang takes its key only as a flag.
		APIKey: spec.EngineAPIKey{Env: "SOVEREIGN_ENGINE_API_KEY", Flag: "--api-key"},
		Images: []string{"docker.io/lmsysorg/sglang"},
	},
	HealthPath: "/health",
	Container: engine.Container{
		// The image's entrypoint is not the server; SGLang's own compose
		// file runs python3 -m sglang.launch_server the same way.
		Entrypoint: "python3",
		Args:       Args,
	},
}

// Own returns eng's SGLang settings; the defaults when it has none.
func Own(eng *spec.Engine) *Settings {
	if s, ok := eng.Own.(*Settings); ok {
		return s
	}
	return &Settings{}
}

// Args are the arguments after `python3`.
func Args(eng *spec.Engine, modelMount string) []string {
	args := []string{
		"-m", "sglang.launch_server",
		"--model-path", modelMount,
		"--served-model-name", eng.ServedModelName,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(eng.Port),
		"--tensor-parallel-size", strconv.Itoa(eng.TensorParallelSize),
		"--kv-cache-dtype", eng.KVCacheDType,
		// Prometheus metrics (off by default) feed the UPS drain's
		// "is it idle?" check and the operator's dashboards.
		"--enable-metrics",
	}
	if eng.MaxModelLen > 0 {
		args = append(args, "--context-length", strconv.Itoa(eng.MaxModelLen))
	}
	if eng.MemoryFraction > 0 {
		args = append(args, "--mem-fraction-static", strconv.FormatFloat(eng.MemoryFraction, 'f', -1, 64))
	}
	if eng.Quantization != "" {
		args = append(args, "--quantization", eng.Quantization)
	}
	if eng.ToolCallParser != "" {
		args = append(args, "--tool-call-parser", eng.ToolCallParser)
	}
	if eng.ReasoningParser != "" {
		args = append(args, "--reasoning-parser", eng.ReasoningParser)
	}
	if n := Own(eng).MaxRunningRequests; n > 0 {
		args = append(args, "--max-running-requests", strconv.Itoa(n))
	}
	if eng.CPUKVOffloadBytes > 0 {
		// HiCache, SGLang's host-memory KV tier. Its size is
		// decimal GB per tensor-parallel rank.
		perRank := float64(eng.CPUKVOffloadBytes) / 1e9 / float64(max(eng.TensorParallelSize, 1))
		args = append(args, "--enable-hierarchical-cache", "--hicache-size", strconv.FormatFloat(perRank, 'f', 0, 64))
	}
	return append(args, eng.ExtraArgs...)
}

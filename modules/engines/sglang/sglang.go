// Package sglang is the engine kind "sglang": SGLang's OpenAI-compatible
// server on one loopback port. SGLang's radix cache shares prefixes across
// conversation turns, which suits multi-turn chat.
package sglang

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
)

// Kind is SGLang.
var Kind = &engine.Kind{
	EngineKind: spec.EngineKind{
		Name:    "sglang",
		Display: "SGLang",
		Settings: map[spec.Setting]string{
			spec.SettingMaxModelLen: "context_length", spec.SettingMemoryFraction: "mem_fraction_static", spec.SettingKVCacheDType: "kv_cache_dtype",
			spec.SettingQuantization: "quantization", spec.SettingTensorParallel: "tensor_parallel_size", spec.SettingToolCallParser: "tool_call_parser",
			spec.SettingReasoningParser: "reasoning_parser", spec.SettingCPUKVOffload: "cpu_kv_offload",
			spec.SettingMaxNumSeqs: "max_running_requests",
		},
		KVCacheDTypes: []spec.KVCacheDType{spec.KVAuto, spec.KVFP8E4M3, spec.KVFP8E5M2},
		Quantizations: []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"},
		// SGLang takes its key only as a flag.
		APIKey: spec.EngineAPIKey{Env: "SOVEREIGN_ENGINE_API_KEY", Flag: "--api-key"},
		Images: []string{"docker.io/lmsysorg/sglang"},
	},
	HealthPath: "/health",
	FlagTables: "sglang",
	Container: engine.Container{
		// The image's entrypoint is not the server; SGLang's own compose
		// file runs python3 -m sglang.launch_server the same way.
		Entrypoint: "python3",
		Command:    []string{"-m", "sglang.launch_server"},
		Options:    Options,
	},
}

// Options are the server's options, after `python3 -m sglang.launch_server`.
func Options(eng *spec.Engine, modelMount string, derived engine.Tuning) []engine.Option {
	at := eng.DeclRange
	opts := []engine.Option{
		engine.SettingOpt(eng, spec.SettingModel, "--model-path", modelMount),
		engine.AttrOpt(eng, "served_model_name", "--served-model-name", eng.ServedModelName),
		engine.Opt(at, "--host", eng.ListenHost()),
		engine.AttrOpt(eng, "port", "--port", strconv.Itoa(eng.Port)),
		engine.SettingOpt(eng, spec.SettingTensorParallel, "--tensor-parallel-size", strconv.Itoa(eng.TensorParallelSize)),
		engine.SettingOpt(eng, spec.SettingKVCacheDType, "--kv-cache-dtype", eng.KVCacheDType),
		// Prometheus metrics (off by default) feed the UPS drain's
		// "is it idle?" check and the operator's dashboards.
		engine.Opt(at, "--enable-metrics"),
	}
	if eng.MaxModelLen > 0 {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingMaxModelLen, "--context-length", strconv.Itoa(eng.MaxModelLen)))
	}
	if eng.MemoryFraction > 0 {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingMemoryFraction, "--mem-fraction-static", strconv.FormatFloat(eng.MemoryFraction, 'f', -1, 64)))
	}
	if eng.Quantization != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingQuantization, "--quantization", eng.Quantization))
	}
	if p := eng.ToolCallParser; p != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingToolCallParser, "--tool-call-parser", p))
	}
	if p := eng.ReasoningParser; p != "" {
		opts = append(opts, engine.SettingOpt(eng, spec.SettingReasoningParser, "--reasoning-parser", p))
	}
	// The concurrency the plan printed, or the blueprint's own.
	if o, ok := engine.Tuned(eng, spec.SettingMaxNumSeqs, eng.MaxNumSeqs, derived.MaxNumSeqs, "--max-running-requests"); ok {
		opts = append(opts, o)
	}
	if eng.CPUKVOffloadBytes > 0 {
		// HiCache, SGLang's host-memory KV tier. Its size is decimal GB
		// per tensor-parallel rank.
		perRank := float64(eng.CPUKVOffloadBytes) / 1e9 / float64(max(eng.TensorParallelSize, 1))
		opts = append(opts, engine.SettingOpt(eng, spec.SettingCPUKVOffload, "--enable-hierarchical-cache"),
			engine.SettingOpt(eng, spec.SettingCPUKVOffload, "--hicache-size", strconv.FormatFloat(perRank, 'f', 0, 64)))
	}
	return append(opts, engine.ExtraArgs(eng)...)
}

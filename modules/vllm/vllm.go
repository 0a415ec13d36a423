// Package vllm compiles an engine "vllm" block into a Podman Quadlet that
// runs vLLM's OpenAI-compatible server on one loopback port.
package vllm

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
	"github.com/sovereign-collective/sovereign/units"
)

// containerCacheDir is where vLLM keeps its torch.compile and CUDA graph
// caches inside the container; it is mounted from the host so that a restart
// does not recompile for minutes.
const containerCacheDir = "/var/cache/vllm"

// Compile returns the engine's contribution to the appliance tree.
func Compile(eng *spec.Engine, app *spec.Appliance) *units.Tree {
	opt := engine.Options{
		Display:    "vLLM",
		HealthPath: "/health",
		CacheMount: containerCacheDir,
		Env: map[string]string{
			"VLLM_CACHE_ROOT":     containerCacheDir,
			"VLLM_NO_USAGE_STATS": "1",
		},
	}
	if eng.APIKey != nil {
		// vLLM reads VLLM_API_KEY and then checks it on /v1 paths.
		opt.SecretEnv = map[string]string{"VLLM_API_KEY": eng.APIKey.Value}
		opt.Secret = eng.APIKey
	}
	t, u := engine.New(eng, app, opt)
	u.Set("Container", "Exec", units.QuoteCommand(Args(eng, engine.ModelMount(eng))))
	t.Units = append(t.Units, u)
	return t
}

// Args are the arguments after the image's entrypoint. --model (rather than
// the positional form) works with both entrypoints vLLM images have had:
// `python3 -m vllm.entrypoints.openai.api_server` and `vllm serve`.
func Args(eng *spec.Engine, modelMount string) []string {
	v := eng.VLLM
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
		// The warm tier in CPU memory (seed §3.3), with the shorthand flags
		// of v0.11.1 and later; the size is GiB in total across
		// tensor-parallel ranks.
		gib := float64(eng.CPUKVOffloadBytes) / (1 << 30)
		args = append(args, "--kv-offloading-backend", v.KVOffloadBackend, "--kv-offloading-size", strconv.FormatFloat(gib, 'f', -1, 64))
	}
	return append(args, eng.ExtraArgs...)
}

// Package sglang compiles an engine "sglang" block into a Podman Quadlet
// running SGLang's OpenAI-compatible server on one loopback port. SGLang's
// radix cache shares prefixes across conversation turns, which suits
// multi-turn chat (seed §5.1).
package sglang

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
	"github.com/sovereign-collective/sovereign/units"
)

// apiKeyVar is the environment variable systemd expands into --api-key.
// SGLang takes its key only as a flag, so the key is in the service's
// environment file and reaches the command line at start, never the unit.
const apiKeyVar = "SOVEREIGN_ENGINE_API_KEY"

// Compile returns the engine's contribution to the appliance tree.
func Compile(eng *spec.Engine, app *spec.Appliance) *units.Tree {
	opt := engine.Options{Display: "SGLang", HealthPath: "/health"}
	if eng.APIKey != nil {
		opt.SecretEnv = map[string]string{apiKeyVar: eng.APIKey.Value}
		opt.Secret = eng.APIKey
	}
	t, u := engine.New(eng, app, opt)
	// The image's entrypoint is not the server; SGLang's own compose file
	// runs python3 -m sglang.launch_server the same way.
	u.Set("Container", "Entrypoint", "python3")
	cmd := units.QuoteCommand(Args(eng, engine.ModelMount(eng)))
	if eng.APIKey != nil {
		u.Set("Service", "EnvironmentFile", engine.SecretEnvFile(eng))
		cmd += " --api-key ${" + apiKeyVar + "}"
	}
	u.Set("Container", "Exec", cmd)
	t.Units = append(t.Units, u)
	return t
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
	if n := eng.SGLang.MaxRunningRequests; n > 0 {
		args = append(args, "--max-running-requests", strconv.Itoa(n))
	}
	if eng.CPUKVOffloadBytes > 0 {
		// HiCache, SGLang's host-memory KV tier (seed §3.3). Its size is
		// decimal GB per tensor-parallel rank.
		perRank := float64(eng.CPUKVOffloadBytes) / 1e9 / float64(max(eng.TensorParallelSize, 1))
		args = append(args, "--enable-hierarchical-cache", "--hicache-size", strconv.FormatFloat(perRank, 'f', 0, 64))
	}
	return append(args, eng.ExtraArgs...)
}

package capacity_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/capacity"
)

func TestParityWarnings(t *testing.T) {
	target := gb300Blueprint(t, "awq-int4", 0, "main")
	audition := gb300Blueprint(t, "awq-int4", 0, "main")
	audition.Appliance.Hardware, _ = catalog.LookupHardware("h100-80gb-sxm")
	small, _ := catalog.LookupModel("qwen3-30b-a3b")
	audition.Engines[0].Model.Architecture = small
	target.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0@sha256:aa"
	audition.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0@sha256:aa"
	if got := capacity.ParityWarnings(audition, target); len(got) != 0 {
		t.Errorf("a smaller model on other hardware is the point of an audition, not a parity problem: %v", got)
	}

	audition.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.11.0@sha256:bb"
	audition.Engines[0].KVCacheDType = "auto"
	audition.Engines[0].ToolCallParser = "hermes"
	want := []string{
		`engine "main": image differs: docker.io/vllm/vllm-openai:v0.11.0 vs docker.io/vllm/vllm-openai:v0.14.0`,
		`engine "main": KV cache dtype differs: auto vs fp8`,
		`engine "main": tool-call parser differs: hermes vs (none)`,
	}
	if diff := cmp.Diff(want, capacity.ParityWarnings(audition, target)); diff != "" {
		t.Errorf("parity warnings (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	a, _ := capacity.Blueprint(audition)
	b, _ := capacity.Blueprint(target)
	if err := capacity.WriteComparison(&buf, capacity.Side{Label: "audition", Blueprint: audition, Plans: a}, capacity.Side{Label: "target", Blueprint: target, Plans: b}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"linux/amd64", "linux/arm64", "1 × 80 GB (85.2 GB to CUDA, unmeasured)", "1 × 252 GB (268.3 GB to CUDA, unmeasured)", "qwen3-30b-a3b", "qwen3-235b-a22b", "sessions", "KV cache dtype differs"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("comparison lacks %q:\n%s", s, buf.String())
		}
	}
}

// TestSpeedParityWarnings: an audition whose engine flags differ from the
// target's in ways that change speed is flagged; the hardware, the model
// and the plan-derived concurrency are expected to differ and are not.
func TestSpeedParityWarnings(t *testing.T) {
	side := func(label string, bp *spec.Blueprint) capacity.Side {
		plans, _ := capacity.Blueprint(bp)
		return capacity.Side{Label: label, Blueprint: bp, Plans: plans}
	}
	target := gb300Blueprint(t, "awq-int4", 0, "main")
	audition := gb300Blueprint(t, "awq-int4", 0, "main")
	audition.Appliance.Hardware, _ = catalog.LookupHardware("h100-80gb-sxm")
	small, _ := catalog.LookupModel("qwen3-30b-a3b")
	audition.Engines[0].Model = &spec.Model{Name: "small", Architecture: small, Weights: "awq-int4"}
	for _, bp := range []*spec.Blueprint{target, audition} {
		bp.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0"
	}
	if got := capacity.SpeedParityWarnings(side("a", audition), side("t", target)); len(got) != 0 {
		t.Fatalf("same flags on other hardware: %v", got)
	}

	target.Engines[0].Quantization = "awq"
	audition.Engines[0].ExtraArgs = []string{"--enforce-eager", "--max_num_batched_tokens", "4096"}
	target.Engines[0].ExtraArgs = []string{"--max-num-batched-tokens=16384", "--port", "9000"}
	want := []string{
		`engine "main": quantization differs for the same awq-int4 weights: (none) vs awq; they run different kernels`,
		`engine "main": speed-relevant flag --enforce-eager differs: on vs (none)`,
		`engine "main": only the second blueprint's engine has this speed trap, so the first cannot show its cost: Slow quantization kernel`,
		`engine "main": only the first blueprint's engine has this speed trap, so the second will not run as measured: CUDA graphs off`,
		`engine "main": max_num_batched_tokens differs: 4096 vs 16384`,
	}
	got := capacity.SpeedParityWarnings(side("a", audition), side("t", target))
	if len(got) != len(want) {
		t.Fatalf("got %d warnings:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %s\nwant it to start %s", i, got[i], want[i])
		}
	}

	// A small GPU gets vLLM's smaller default batch budget.
	audition.Engines[0].ExtraArgs, target.Engines[0].ExtraArgs, target.Engines[0].Quantization = nil, nil, ""
	audition.Appliance.Hardware.GPUMemoryBytes = 60 << 30
	got = capacity.SpeedParityWarnings(side("a", audition), side("t", target))
	if len(got) != 1 || !strings.Contains(got[0], "max_num_batched_tokens differs: 2048 vs 8192") {
		t.Errorf("got %v", got)
	}
}

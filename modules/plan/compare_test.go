package plan_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/modules/plan"
)

func TestParityWarnings(t *testing.T) {
	target := gb300Blueprint(t, "awq-int4", 0, "main")
	audition := gb300Blueprint(t, "awq-int4", 0, "main")
	audition.Appliance.Hardware, _ = catalog.LookupHardware("h100-80gb-sxm")
	small, _ := catalog.LookupModel("qwen3-30b-a3b")
	audition.Engines[0].Model.Architecture = small
	target.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0@sha256:aa"
	audition.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0@sha256:aa"
	if got := plan.ParityWarnings(audition, target); len(got) != 0 {
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
	if diff := cmp.Diff(want, plan.ParityWarnings(audition, target)); diff != "" {
		t.Errorf("parity warnings (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	a, _ := plan.Blueprint(audition)
	b, _ := plan.Blueprint(target)
	if err := plan.WriteComparison(&buf, plan.Side{Label: "audition", Blueprint: audition, Plans: a}, plan.Side{Label: "target", Blueprint: target, Plans: b}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"linux/amd64", "linux/arm64", "1 × 80 GB (85.2 GB to CUDA, unmeasured)", "1 × 252 GB (268.3 GB to CUDA, unmeasured)", "qwen3-30b-a3b", "qwen3-235b-a22b", "sessions", "KV cache dtype differs"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("comparison lacks %q:\n%s", s, buf.String())
		}
	}
}

package modules_test

import (
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// TestEngineStartTimeout: an engine whose blueprint leaves start_timeout
// unset (0 in the spec: the decoder records only what was written) may take
// the engine module's two hours to become healthy; one that sets it gets
// its own. The default is applied in that one place.
func TestEngineStartTimeout(t *testing.T) {
	hw, _ := catalog.LookupHardware("dgx-station-gb300")
	for _, tc := range []struct {
		set, want time.Duration
	}{{0, 2 * time.Hour}, {45 * time.Minute, 45 * time.Minute}} {
		m := &spec.Model{Name: "qwen3"}
		eng := &spec.Engine{Kind: "vllm", Name: "main", Model: m, Port: 8000, ServedModelName: "coop", KVCacheDType: "auto", StartTimeout: tc.set,
			Image: spec.Image{Ref: "docker.io/vllm/vllm-openai:v0.14.0"}}
		bp := &spec.Blueprint{
			Appliance: &spec.Appliance{Name: "coop", Hostname: "coop", Hardware: hw, Storage: spec.Storage{ModelsDir: "/var/lib/models", StateDir: "/var/lib/sovereign"}},
			Models:    []*spec.Model{m},
			Engines:   []*spec.Engine{eng},
		}
		tree, diags := modules.Compile(bp, nil)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		var got time.Duration
		for _, u := range tree.Units {
			if u.ServiceName() == engines.Service(eng) {
				got = u.StartTimeout
			}
		}
		if got != tc.want {
			t.Errorf("start_timeout %v: the engine's unit may start for %v, want %v", tc.set, got, tc.want)
		}
	}
}

package modules_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules"
)

// TestUnknownEngineKindIsAnError: dispatch is a registry lookup, and a kind
// the registry lacks stops the build at the engine block instead of
// building an appliance without that engine.
func TestUnknownEngineKindIsAnError(t *testing.T) {
	hw, _ := catalog.LookupHardware("dgx-station-gb300")
	m := &spec.Model{Name: "qwen3"}
	at := hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: 7, Column: 1}}
	bp := &spec.Blueprint{
		Appliance: &spec.Appliance{Name: "coop", Hostname: "coop", Hardware: hw, Storage: spec.Storage{ModelsDir: "/var/lib/models", StateDir: "/var/lib/sovereign"}},
		Models:    []*spec.Model{m},
		Engines:   []*spec.Engine{{Kind: "tgi", Name: "main", Model: m, Image: spec.Image{Ref: "ghcr.io/huggingface/text-generation-inference:3"}, DeclRange: at}},
	}
	_, diags := modules.Compile(bp, nil)
	if !diags.HasErrors() {
		t.Fatal("an engine of an unknown kind compiled without an error")
	}
	d := diags.Errs()[0].(*hcl.Diagnostic)
	if d.Subject == nil || d.Subject.Start.Line != 7 || !strings.Contains(d.Detail, `"tgi"`) {
		t.Errorf("diagnostic %q at %v, want one naming the kind at the engine block", d.Detail, d.Subject)
	}
}

// TestBudgetsReportedTogether: a wan block that cannot fail over in time
// and a UPS whose battery runs out are both reported by one build, each at
// its own block, as they were when the decoder checked them.
func TestBudgetsReportedTogether(t *testing.T) {
	hw, _ := catalog.LookupHardware("dgx-station-gb300")
	at := func(line int) hcl.Range { return hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: line, Column: 3}} }
	bp := &spec.Blueprint{
		Appliance: &spec.Appliance{Name: "coop", Hostname: "coop", Hardware: hw, Storage: spec.Storage{ModelsDir: "/var/lib/models", StateDir: "/var/lib/sovereign"}},
		WAN: &spec.WAN{FailoverTime: 10 * time.Second, FailoverTimeRange: at(11), DeclRange: at(10),
			Uplinks: []*spec.Uplink{{Name: "nbn", Type: "ethernet", Interface: "enp1s0", Priority: 1}}},
		UPS: &spec.UPS{Name: "main", Runtime: 4 * time.Minute, DeclRange: at(20),
			OnBattery: spec.OnBattery{ShutdownAfter: 5 * time.Minute, ShutdownAfterRange: at(22)}},
	}
	_, diags := modules.Compile(bp, nil)
	var got []string
	for _, d := range diags.Errs() {
		d := d.(*hcl.Diagnostic)
		got = append(got, fmt.Sprintf("%d: %s", d.Subject.Start.Line, d.Summary))
	}
	want := []string{"11: No probe targets", "22: The battery runs out before the shutdown ends"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors %q, want %q", got, want)
	}
}

package modules_test

import (
	"strings"
	"testing"

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

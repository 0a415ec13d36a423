package blueprints

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Load parses the blueprint at target (a .hcl file or a folder of them),
// evaluates it with in, and returns the typed blueprint. The returned
// diagnostics hold every problem found; when they include errors the
// blueprint is nil.
func (p *Parser) Load(target string, in Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	if err := catalog.Check(); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error() + " (please report it)"}}
	}
	bp, diags := p.load(target, in)
	return bp, SortDiagnostics(CutLongValues(diags))
}

func (p *Parser) load(target string, in Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	src, diags := p.parse(target)
	if src == nil || (diags.HasErrors() && !onlyUnknownBlocks(diags)) {
		return nil, diags
	}
	if len(src.blocks("fleet")) > 0 || len(src.blocks("host")) > 0 {
		return nil, append(diags, fleetBlocksRefused(src)...)
	}
	ev := newEvaluator(p, src.baseDir, in)

	// Each phase runs only if the ones before it had no errors of their own
	// (an unknown block does not stop the rest of the blueprint's checks).
	vars, moreDiags := ev.variables(src.blocks("variable"), in)
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return nil, diags
	}
	ev.ctx.Variables["var"] = cty.ObjectVal(vars)

	locals, moreDiags := ev.locals(src.blocks("locals"))
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return nil, diags
	}
	ev.ctx.Variables["local"] = cty.ObjectVal(locals)

	moreDiags = p.loadModules(src, ev, in, []string{src.baseDir})
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return nil, diags
	}

	bp, moreDiags := ev.blueprint(src)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	return bp, diags
}

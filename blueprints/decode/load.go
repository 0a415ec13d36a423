package decode

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Load parses the blueprint at target (a .hcl file or a folder of them),
// evaluates it with in, and returns the typed blueprint. The returned
// diagnostics hold every problem found; when they include errors the
// blueprint is nil.
func (p *Loader) Load(target string, in lang.Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	if err := catalog.Check(); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error() + " (please report it)"}}
	}
	bp, diags := p.load(target, in)
	return bp, lang.SortDiagnostics(lang.CutLongValues(diags))
}

func (p *Loader) load(target string, in lang.Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	src, diags := p.Parse(target)
	if src == nil || (diags.HasErrors() && !lang.OnlyUnknownBlocks(diags)) {
		return nil, diags
	}
	if len(src.Blocks("fleet")) > 0 || len(src.Blocks("host")) > 0 {
		return nil, append(diags, fleetBlocksRefused(src)...)
	}
	ev := &evaluator{lang.NewEvaluator(p.Parser, src.BaseDir, in)}

	// Each phase runs only if the ones before it had no errors of their own
	// (an unknown block does not stop the rest of the blueprint's checks).
	moreDiags := ev.EvaluateValues(src, in)
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return nil, diags
	}

	moreDiags = p.LoadModules(src, ev.Evaluator, in, []string{src.BaseDir})
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

// Loader loads blueprints: the language (lang) parses and evaluates the
// files, the decoders here turn their blocks into the typed spec.
type Loader struct{ *lang.Parser }

// NewLoader returns a loader reading from fsys. Engine blocks are decoded by
// what their kind in engines declares (the registry, modules/engines.Kinds,
// which loading cannot import).
func NewLoader(fsys afero.Fs, engines spec.EngineKinds) *Loader {
	return &Loader{lang.NewParser(fsys, engines)}
}

// evaluator is the language's evaluator with the block decoders as methods.
type evaluator struct{ *lang.Evaluator }

// of is the evaluator of block b's origin: the module it came from, or e.
func (e *evaluator) of(src *lang.Source, b *hcl.Block) *evaluator {
	return &evaluator{src.Evaluator(e.Evaluator, b)}
}

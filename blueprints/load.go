package blueprints

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Inputs are the values a blueprint is evaluated with, besides its files.
type Inputs struct {
	// Vars are -var NAME=VALUE settings in command-line order; later wins.
	Vars []VarSetting
	// VarFiles are -var-file paths in command-line order; later wins.
	VarFiles []string
	// Env is the environment (KEY=VALUE) that SOVEREIGN_VAR_NAME variables
	// and secret_env() read. It is passed in rather than read from the
	// process so that loading stays a pure function of its inputs.
	Env []string
	// Now is the time a TLS certificate's validity is checked against;
	// the zero time means the clock. Only warnings depend on it, never
	// the output.
	Now time.Time

	// call is set when loading a module: its variables come from the
	// module block's arguments instead of the command line.
	call *moduleCall
}

// VarSetting is one -var NAME=VALUE.
type VarSetting struct {
	Name, Value string
}

// EnvVarPrefix is the prefix of environment variables that set blueprint
// variables: SOVEREIGN_VAR_domain=example.org sets var.domain.
const EnvVarPrefix = "SOVEREIGN_VAR_"

// topSchema is every block a blueprint file may hold; anything else is an
// error naming the block, before any evaluation happens.
var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "appliance", LabelNames: []string{"name"}},
		{Type: "model", LabelNames: []string{"name"}},
		{Type: "engine", LabelNames: []string{"kind", "name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "gateway"},
		{Type: "wan"},
		{Type: "ups", LabelNames: []string{"name"}},
		{Type: "metrics"},
		{Type: "os"},
		{Type: "fleet", LabelNames: []string{"name"}},
		{Type: "host", LabelNames: []string{"name"}},
	},
}

// source is the static content of a blueprint: its blocks by type, before
// evaluation.
type source struct {
	baseDir string
	// all is every block in file order; evals maps the blocks that came
	// from modules to their module's evaluator.
	all   []*hcl.Block
	evals map[*hcl.Block]*evaluator
	start hcl.Range // the start of the first file: where to report a missing block
	// byType holds the blocks of each type of topSchema, in file order.
	byType map[string][]*hcl.Block
	// remote, for a fleet's gateway host, are the other hosts' engines.
	remote []*spec.Engine
}

// blocks returns the blocks of one type, in file order.
func (s *source) blocks(typ string) []*hcl.Block { return s.byType[typ] }

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

// parse reads every file of the blueprint and sorts its blocks by type.
func (p *Parser) parse(target string) (*source, hcl.Diagnostics) {
	files, baseDir, diags := p.blueprintFiles(target)
	if diags.HasErrors() {
		return nil, diags
	}
	src := &source{baseDir: baseDir, evals: map[*hcl.Block]*evaluator{}, byType: map[string][]*hcl.Block{}}
	for _, name := range files {
		f, fileDiags := p.parseFile(name)
		diags = append(diags, fileDiags...)
		if f == nil {
			continue
		}
		if src.start.Filename == "" {
			src.start = f.Body.MissingItemRange()
		}
		content, contentDiags := f.Body.Content(topSchema)
		diags = append(diags, contentDiags...)
		for _, b := range content.Blocks {
			src.add(b)
		}
	}
	return src, diags
}

// add files a block under its type.
func (s *source) add(b *hcl.Block) {
	s.all = append(s.all, b)
	s.byType[b.Type] = append(s.byType[b.Type], b)
}

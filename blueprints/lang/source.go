package lang

import (
	"github.com/hashicorp/hcl/v2"
	"time"

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
type Source struct {
	BaseDir string
	// all is every block in file order; evals maps the blocks that came
	// from modules to their module's evaluator.
	All   []*hcl.Block
	Evals map[*hcl.Block]*Evaluator
	Start hcl.Range // the start of the first file: where to report a missing block
	// byType holds the blocks of each type of topSchema, in file order.
	ByType map[string][]*hcl.Block
	// remote, for a fleet's gateway host, are the other hosts' engines.
	Remote []*spec.Engine
}

// blocks returns the blocks of one type, in file order.
func (s *Source) Blocks(typ string) []*hcl.Block { return s.ByType[typ] }

// parse reads every file of the blueprint and sorts its blocks by type.
func (p *Parser) Parse(target string) (*Source, hcl.Diagnostics) {
	files, baseDir, diags := p.blueprintFiles(target)
	if diags.HasErrors() {
		return nil, diags
	}
	src := &Source{BaseDir: baseDir, Evals: map[*hcl.Block]*Evaluator{}, ByType: map[string][]*hcl.Block{}}
	for _, name := range files {
		f, fileDiags := p.ParseFile(name)
		diags = append(diags, fileDiags...)
		if f == nil {
			continue
		}
		if src.Start.Filename == "" {
			src.Start = f.Body.MissingItemRange()
		}
		content, contentDiags := f.Body.Content(topSchema)
		diags = append(diags, contentDiags...)
		for _, b := range content.Blocks {
			src.Add(b)
		}
	}
	return src, diags
}

// add files a block under its type.
func (s *Source) Add(b *hcl.Block) {
	s.All = append(s.All, b)
	s.ByType[b.Type] = append(s.ByType[b.Type], b)
}

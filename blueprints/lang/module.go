package lang

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"
	"github.com/zclconf/go-cty/cty"
)

// A module block reuses a folder of blueprint files, Terraform style:
//
//	module "collective" {
//	  source = "./collective"
//	  model  = "qwen3-235b-a22b"   # the module's variables
//	}
//
// The module's files are evaluated with their own variables (the block's
// other arguments) and locals, and their blocks join the blueprint's. This is
// how the cloud audition and the GB300 share one gateway, members and engine
// options, so that the audition tests what will run: both call the same module, with only the hardware and
// the model's size differing.
var moduleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source", Required: true}},
}

// maxModuleDepth stops a module that calls itself through others. The chain
// is reported, so the loop can be found.
const maxModuleDepth = 8

// moduleCall is a module block's arguments, evaluated by its caller.
type moduleCall struct {
	name  string
	block *hcl.Block
	args  hcl.Attributes
	ctx   *hcl.EvalContext
}

// LoadModules loads the modules src calls, recursively, and adds their blocks
// to src, each remembering the evaluator of the module it came from.
func (p *Parser) LoadModules(src *Source, caller *Evaluator, in Inputs, chain []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, b := range src.Blocks("module") {
		name := b.Labels[0]
		if prev, ok := seen[name]; ok {
			diags = append(diags, DuplicateDiag("module", name, b.LabelRanges[0], prev))
			continue
		}
		seen[name] = b.LabelRanges[0]
		content, rest, moreDiags := b.Body.PartialContent(moduleSchema)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		srcAttr := content.Attributes["source"]
		v, moreDiags := srcAttr.Expr.Value(nil)
		if moreDiags.HasErrors() || v.Type() != cty.String || v.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid module source",
				Detail:   `source must be a literal path to a folder of blueprint files, such as "./collective"; it cannot be computed, so that what a blueprint includes is visible in it.`,
				Subject:  srcAttr.Expr.Range().Ptr(),
			})
			continue
		}
		rel := v.AsString()
		if !strings.HasPrefix(rel, "./") && !strings.HasPrefix(rel, "../") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid module source",
				Detail:   fmt.Sprintf("%q must be a local folder starting with ./ or ../; sovereign fetches nothing while building.", rel),
				Subject:  srcAttr.Expr.Range().Ptr(),
			})
			continue
		}
		dir := CleanRel(src.BaseDir, rel)
		if len(chain) >= maxModuleDepth || slices.Contains(chain, dir) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module calls itself",
				Detail:   fmt.Sprintf("Modules call each other in a loop: %s → %s.", strings.Join(chain, " → "), dir),
				Subject:  srcAttr.Expr.Range().Ptr(),
			})
			continue
		}
		args, moreDiags := rest.JustAttributes()
		diags = append(diags, moreDiags...)

		if d := p.moduleFolder(dir, rel, srcAttr.Expr.Range()); d != nil {
			diags = append(diags, d)
			continue
		}
		msrc, moreDiags := p.Parse(dir)
		for _, d := range moreDiags {
			if d.Subject == nil { // a file of the folder could not be read
				d.Subject = srcAttr.Expr.Range().Ptr()
			}
		}
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		if d := refusedInModule(name, dir, msrc); d != nil {
			diags = append(diags, d)
			continue
		}
		child, moreDiags := p.moduleEvaluator(msrc, &moduleCall{name: name, block: b, args: args, ctx: caller.Ctx}, dir, in)
		diags = append(diags, moreDiags...)
		if child == nil {
			continue
		}
		diags = append(diags, p.LoadModules(msrc, child, in, append(chain, dir))...)
		src.include(msrc, child)
	}
	return diags
}

// refusedInModule is the error for a block that belongs to the calling
// blueprint, not to a module (the machine, the fleet, its hosts), or nil.
func refusedInModule(name, dir string, msrc *Source) *hcl.Diagnostic {
	if len(msrc.Blocks("appliance")) > 0 {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Appliance block in a module",
			Detail:   fmt.Sprintf("The module %q (%s) declares an appliance; the machine belongs to the calling blueprint, so that one module can serve several machines.", name, dir),
			Subject:  msrc.Blocks("appliance")[0].DefRange.Ptr(),
		}
	}
	if hosts := append(msrc.Blocks("fleet"), msrc.Blocks("host")...); len(hosts) > 0 {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Hosts in a module",
			Detail:   fmt.Sprintf("The module %q (%s) declares a %s block; the fleet and its hosts belong to the calling blueprint, modules hold what hosts share.", name, dir, hosts[0].Type),
			Subject:  hosts[0].DefRange.Ptr(),
		}
	}
	return nil
}

// moduleEvaluator evaluates a called module's variables, from the call's
// arguments, and its locals; it is nil when either has errors.
func (p *Parser) moduleEvaluator(msrc *Source, call *moduleCall, dir string, in Inputs) (*Evaluator, hcl.Diagnostics) {
	child := NewEvaluator(p, dir, in)
	child.calledBy = call.block
	diags := child.EvaluateValues(msrc, Inputs{Env: in.Env, call: call})
	if diags.HasErrors() {
		return nil, diags
	}
	return child, diags
}

// EvaluateValues evaluates src's variables, from in, then its locals, into
// e's context, where every block of src reads them as var.NAME and
// local.NAME. Locals are left out when the variables have errors.
func (e *Evaluator) EvaluateValues(src *Source, in Inputs) hcl.Diagnostics {
	vars, diags := e.Variables(src.Blocks("variable"), in)
	if diags.HasErrors() {
		return diags
	}
	e.Ctx.Variables["var"] = cty.ObjectVal(vars)
	locals, moreDiags := e.Locals(src.Blocks("locals"))
	diags = append(diags, moreDiags...)
	if moreDiags.HasErrors() {
		return diags
	}
	e.Ctx.Variables["local"] = cty.ObjectVal(locals)
	return diags
}

// moduleFolder returns the one error for a module source that is not a
// folder of blueprint files (missing, a file, or without .hcl files), at the
// source attribute, or nil.
func (p *Parser) moduleFolder(dir, rel string, at hcl.Range) *hcl.Diagnostic {
	diag := func(format string, args ...any) *hcl.Diagnostic {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid module source", Detail: fmt.Sprintf(format, args...), Subject: at.Ptr()}
	}
	info, err := p.fs.Stat(dir)
	switch {
	case err != nil:
		return diag("There is no folder %q (%s): %s. source names a folder of blueprint files, relative to this file's folder.", rel, dir, unwrapPathError(err))
	case !info.IsDir():
		return diag("%q (%s) is a file; source names a folder of blueprint files, relative to this file's folder.", rel, dir)
	}
	entries, err := afero.ReadDir(p.fs, dir)
	if err != nil {
		return diag("The folder %q (%s) could not be read: %s.", rel, dir, unwrapPathError(err))
	}
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".hcl") && !strings.HasSuffix(n, LockFileSuffix) && !strings.HasSuffix(n, VarFileSuffix) && !strings.HasPrefix(n, ".") {
			return nil
		}
	}
	return diag("The folder %q (%s) has no .hcl files, so the module would declare nothing.", rel, dir)
}

// moduleArgs turns a module call's arguments into variable values, checked
// against the variables the module declares.
func (c *moduleCall) values(decls map[string]*variable) (map[string]given, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]given{}
	for _, name := range sortedAttrNames(c.args) {
		attr := c.args[name]
		if _, ok := decls[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   fmt.Sprintf("The module %q declares no variable %q.%s", c.name, name, Suggest(name, KeysOf(decls))),
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		val, moreDiags := attr.Expr.Value(c.ctx)
		diags = append(diags, moreDiags...)
		out[name] = given{expr: attr.Expr, rng: attr.Expr.Range().Ptr(), value: val}
	}
	return out, diags
}

// include adds a module's blocks to the blueprint, each decoded later with
// the evaluator of the module it came from.
func (s *Source) include(m *Source, ev *Evaluator) {
	for _, b := range m.All {
		if b.Type == "variable" || b.Type == "locals" || b.Type == "module" {
			continue // evaluated within the module already
		}
		s.Add(b)
		s.Evals[b] = ev
	}
}

// evaluator returns the evaluator a block is decoded with: its module's, or
// root for the blueprint's own blocks.
func (s *Source) Evaluator(root *Evaluator, b *hcl.Block) *Evaluator {
	if ev, ok := s.Evals[b]; ok {
		return ev
	}
	return root
}

package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

// given is a variable's value as given, before type conversion, with where
// it came from.
type given struct {
	expr  hcl.Expression // nil for raw strings
	raw   string
	from  string // where a raw string came from, for messages
	rng   *hcl.Range
	value cty.Value
}

// variable is a declared input of the blueprint.
type variable struct {
	name        string
	ty          cty.Type
	defaults    *typeexpr.Defaults
	def         cty.Value // cty.NilVal when the variable is required
	sensitive   bool
	validations []*hcl.Block
	declRange   hcl.Range
}

// variables declares every variable block, then assigns values in
// precedence order (default < SOVEREIGN_VAR_ environment < -var-file < -var),
// converts them to their declared types and runs their validation rules.
// nearMissEnvVar warns about SOVEREIGN_VAR_NAME when NAME is no variable
// but differs from one only in case or by one character
// (SOVEREIGN_VAR_HOSTNAME for hostname): it would otherwise be ignored
// without a word, as environment variables for other blueprints are.
func nearMissEnvVar(envName, name string, decls map[string]*variable) hcl.Diagnostics {
	for _, declared := range KeysOf(decls) {
		if _, set := decls[name]; set {
			return nil
		}
		if levenshtein.Distance(strings.ToLower(name), strings.ToLower(declared), nil) > 1 {
			continue
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Environment variable for no variable",
			Detail:   fmt.Sprintf("%s is set, but the blueprint has no variable %q, so it is ignored. Variable names are case-sensitive: did you mean %s%s for the variable %q?", envName, name, EnvVarPrefix, declared, declared),
			Subject:  decls[declared].declRange.Ptr(),
		}}
	}
	return nil
}

func (e *Evaluator) Variables(blocks []*hcl.Block, in Inputs) (map[string]cty.Value, hcl.Diagnostics) {
	decls, diags := declareVariables(blocks)
	values, moreDiags := e.givenValues(decls, in)
	diags = append(diags, moreDiags...)
	out := map[string]cty.Value{}
	for _, name := range KeysOf(decls) {
		v := decls[name]
		g, ok := values[name]
		val, moreDiags := variableValue(v, g, ok, in.call)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		out[name] = val
		diags = append(diags, e.validateVariable(v, val)...)
	}
	// Declared variables with errors still get a placeholder so that a
	// reference to them does not add a second, misleading error.
	for name, v := range decls {
		if _, ok := out[name]; !ok {
			out[name] = cty.UnknownVal(v.ty)
		}
	}
	return out, diags
}

// declareVariables decodes the variable blocks, once per name.
func declareVariables(blocks []*hcl.Block) (map[string]*variable, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	decls := map[string]*variable{}
	for _, b := range blocks {
		v, moreDiags := decodeVariable(b)
		diags = append(diags, moreDiags...)
		if v == nil {
			continue
		}
		if prev, ok := decls[v.name]; ok {
			diags = append(diags, DuplicateDiag("variable", v.name, b.DefRange, prev.declRange))
			continue
		}
		decls[v.name] = v
	}
	return decls, diags
}

// givenValues collects the values the variables are given, the later of
// these winning: the environment, the variable files, -var; for a module,
// its call alone instead of the environment and the files.
func (e *Evaluator) givenValues(decls map[string]*variable, in Inputs) (map[string]given, hcl.Diagnostics) {
	values := map[string]given{}
	diags := e.envValues(decls, in, values)
	diags = append(diags, e.varFileValues(decls, in.VarFiles, values)...)
	if in.call != nil {
		// A module's variables come from its call, and only from there: the
		// command line and the environment set the calling blueprint's.
		callValues, moreDiags := in.call.values(decls)
		diags = append(diags, moreDiags...)
		values = map[string]given{}
		for k, v := range callValues {
			values[k] = v
		}
	}
	for _, s := range in.Vars {
		if _, ok := decls[s.Name]; !ok {
			diags = append(diags, undeclaredVariable(decls, s.Name, "The option -var", nil))
			continue
		}
		values[s.Name] = given{raw: s.Value, from: "-var " + s.Name}
	}
	return values, diags
}

// envValues puts the SOVEREIGN_VAR_NAME values of declared variables into
// values.
func (e *Evaluator) envValues(decls map[string]*variable, in Inputs, values map[string]given) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var envNames []string
	for name := range e.env {
		if strings.HasPrefix(name, EnvVarPrefix) {
			envNames = append(envNames, name)
		}
	}
	sort.Strings(envNames)
	for _, envName := range envNames {
		name := strings.TrimPrefix(envName, EnvVarPrefix)
		// Unknown environment variables are ignored: the environment is shared
		// with other blueprints and tools, unlike the command line. An empty
		// one counts as unset, so that `SOVEREIGN_VAR_x=` clears it.
		if _, ok := decls[name]; ok && e.env[envName] != "" {
			values[name] = given{raw: e.env[envName], from: "the environment variable " + envName}
			continue
		}
		if in.call == nil && e.env[envName] != "" {
			diags = append(diags, nearMissEnvVar(envName, name, decls)...)
		}
	}
	return diags
}

// varFileValues puts the values of the variable files into values.
func (e *Evaluator) varFileValues(decls map[string]*variable, paths []string, values map[string]given) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, path := range paths {
		f, moreDiags := e.ParseFile(path)
		diags = append(diags, moreDiags...)
		if f == nil {
			continue
		}
		attrs, moreDiags := f.Body.JustAttributes()
		diags = append(diags, moreDiags...)
		for _, name := range sortedAttrNames(attrs) {
			attr := attrs[name]
			if _, ok := decls[name]; !ok {
				diags = append(diags, undeclaredVariable(decls, name, fmt.Sprintf("The variable file %s", path), attr.NameRange.Ptr()))
				continue
			}
			// Variable files hold values, not computations: no variables,
			// but functions like file() are fine.
			val, moreDiags := attr.Expr.Value(&hcl.EvalContext{Functions: e.Ctx.Functions})
			diags = append(diags, moreDiags...)
			values[name] = given{expr: attr.Expr, rng: attr.Expr.Range().Ptr(), value: val}
		}
	}
	return diags
}

func undeclaredVariable(decls map[string]*variable, name, where string, rng *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value for undeclared variable",
		Detail:   fmt.Sprintf("%s sets a variable named %q, but the blueprint declares no such variable.%s", where, name, Suggest(name, KeysOf(decls))),
		Subject:  rng,
	}
}

// variableValue is v's value: g when it was given (ok), else its default;
// converted to its type, with its defaults applied and marked sensitive
// when it is.
func variableValue(v *variable, g given, ok bool, call *moduleCall) (cty.Value, hcl.Diagnostics) {
	var val cty.Value
	var diags hcl.Diagnostics // warnings about a raw value
	subject := g.rng
	switch {
	case !ok && v.def == cty.NilVal && call != nil:
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing required argument",
			Detail:   fmt.Sprintf("The module %q needs a value for its variable %q (declared at %s), which has no default.", call.name, v.name, v.declRange),
			Subject:  call.block.DefRange.Ptr(),
		}}
	case !ok && v.def == cty.NilVal:
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No value for required variable",
			Detail:   fmt.Sprintf("The variable %q has no default, so it must be set: -var %s=VALUE, a -var-file, or the environment variable %s%s.", v.name, v.name, EnvVarPrefix, v.name),
			Subject:  v.declRange.Ptr(),
		}}
	case !ok:
		val = v.def
		subject = v.declRange.Ptr()
	case g.expr != nil:
		val = g.value
	default:
		if val, diags = parseRawValue(v.name, g.raw, g.from, v.ty, v.sensitive); diags.HasErrors() {
			return cty.NilVal, diags
		}
	}
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.ty)
	if err != nil {
		return cty.NilVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value for variable %q is not a %s: %s.", v.name, v.ty.FriendlyName(), err),
			Subject:  orRange(subject, v.declRange),
		})
	}
	if v.sensitive {
		conv = conv.Mark(sensitive)
	}
	return conv, diags
}

// parseRawValue reads a value given as text on the command line or in the
// environment: as-is for a string variable, as an HCL expression otherwise
// (so -var 'sizes=[1,2]' works as it does in Terraform).
//
// A value that does not parse is reported without a source location: it
// was typed on a command line or set in the environment, not in a file.
func parseRawValue(name, raw, from string, ty cty.Type, sensitive bool) (cty.Value, hcl.Diagnostics) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "<value for var."+name+">", hcl.InitialPos)
	var val cty.Value
	if !diags.HasErrors() {
		val, diags = expr.Value(nil)
	}
	if diags.HasErrors() {
		shown := fmt.Sprintf("%q", raw)
		if sensitive {
			shown = "a sensitive value" // never echo a secret, even a mistyped one
		}
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s sets %s, which is not a %s: %s. Values of non-string variables are written as in HCL, e.g. 8000, true or [\"a\", \"b\"].", from, shown, ty.FriendlyName(), diags[0].Summary),
		}}
	}
	return val, nil
}

func decodeVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	content, diags := b.Body.Content(variableSchema)
	v := &variable{name: b.Labels[0], ty: cty.DynamicPseudoType, declRange: b.DefRange}
	if !hclsyntax.ValidIdentifier(v.name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid variable name",
			Detail:   "A variable name must start with a letter or underscore and contain only letters, digits, underscores and dashes.",
			Subject:  &b.LabelRanges[0],
		})
		return nil, diags
	}
	if attr, ok := content.Attributes["type"]; ok {
		ty, defaults, moreDiags := typeexpr.TypeConstraintWithDefaults(attr.Expr)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() {
			v.ty, v.defaults = ty, defaults
		}
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		val, moreDiags := attr.Expr.Value(nil)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() {
			if val.Type() != cty.Bool || val.IsNull() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid sensitive flag", Detail: "sensitive must be true or false.", Subject: attr.Expr.Range().Ptr()})
			} else {
				v.sensitive = val.True()
			}
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		val, moreDiags := attr.Expr.Value(nil)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() && val.Type() != cty.String {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid description", Detail: "description must be a string.", Subject: attr.Expr.Range().Ptr()})
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		v.def = cty.DynamicVal // until it converts: a bad default is not also a missing value
		val, moreDiags := attr.Expr.Value(nil)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() {
			if v.defaults != nil {
				val = v.defaults.Apply(val)
			}
			conv, err := convert.Convert(val, v.ty)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default is not a %s: %s.", v.ty.FriendlyName(), err),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else {
				v.def = conv
			}
		}
	}
	for _, vb := range content.Blocks {
		_, moreDiags := vb.Body.Content(validationSchema)
		diags = append(diags, moreDiags...)
		if !moreDiags.HasErrors() {
			v.validations = append(v.validations, vb)
		}
	}
	return v, diags
}

// validateVariable runs the variable's validation blocks. A condition sees
// only var.NAME, its own value, as in Terraform.
func (e *Evaluator) validateVariable(v *variable, val cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{v.name: val})},
		Functions: e.Ctx.Functions,
	}
	for _, vb := range v.validations {
		content, _ := vb.Body.Content(validationSchema)
		cond := content.Attributes["condition"]
		msgAttr := content.Attributes["error_message"]
		before := len(diags) // an earlier rule's failure must not skip this one
		for _, ref := range cond.Expr.Variables() {
			if ref.RootName() != "var" || len(ref) < 2 {
				continue
			}
			if a, ok := ref[1].(hcl.TraverseAttr); !ok || a.Name != v.name {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid reference in variable validation",
					Detail:   fmt.Sprintf("A validation condition may only refer to the variable it checks, var.%s.", v.name),
					Subject:  ref.SourceRange().Ptr(),
				})
			}
		}
		if len(diags) > before {
			continue
		}
		result, moreDiags := cond.Expr.Value(ctx)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		result, _ = result.Unmark()
		result, err := convert.Convert(result, cty.Bool)
		if err != nil || result.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid validation condition",
				Detail:   "The condition must be true or false.",
				Subject:  cond.Expr.Range().Ptr(),
			})
			continue
		}
		if !result.IsKnown() || result.True() {
			continue
		}
		msg := "The value is not valid."
		if m, moreDiags := msgAttr.Expr.Value(ctx); !moreDiags.HasErrors() && m.Type() == cty.String && m.IsKnown() && !m.IsNull() && !m.IsMarked() {
			msg = m.AsString()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("var.%s: %s\n\nThis was checked by the validation rule at %s.", v.name, msg, cond.Expr.Range()),
			Subject:  cond.Expr.Range().Ptr(),
		})
	}
	return diags
}

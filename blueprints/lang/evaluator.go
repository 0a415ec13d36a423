package lang

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Evaluator holds what every expression of one blueprint is evaluated with.
type Evaluator struct {
	// calledBy is the module block whose module this evaluator evaluates;
	// nil for the blueprint itself.
	calledBy *hcl.Block
	// parser read the blueprint; it reads the files its expressions name.
	parser  *Parser
	BaseDir string
	env     map[string]string
	Ctx     *hcl.EvalContext
	Now     time.Time // for certificate validity warnings
}

func NewEvaluator(p *Parser, baseDir string, in Inputs) *Evaluator {
	env := map[string]string{}
	for _, kv := range in.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &Evaluator{
		parser:  p,
		BaseDir: baseDir,
		env:     env,
		Now:     now,
		Ctx: &hcl.EvalContext{
			Variables: map[string]cty.Value{},
			Functions: functions(p.fs, baseDir, env),
		},
	}
}

// Attrs decodes the attributes of one block body into Go values. Each getter
// records its own diagnostics, so a block's decoder reads every attribute and
// the caller gets all the problems at once.
type Attrs struct {
	Evaluator *Evaluator
	All       hcl.Attributes
	// block and kind (an engine's) pick the text rule of each attribute.
	block, kind string
	// required are the attributes the block's schema requires.
	required map[string]bool
	Diags    hcl.Diagnostics
}

// ParseFile reads and parses one HCL file through the parser that read the
// blueprint, which remembers it for diagnostics.
func (e *Evaluator) ParseFile(path string) (*hcl.File, hcl.Diagnostics) {
	return e.parser.ParseFile(path)
}

// EngineKinds are the engine kinds the blueprint's engine blocks may name.
func (e *Evaluator) EngineKinds() spec.EngineKinds { return e.parser.Engines }

// Attrs reads the attributes of block b, whose content is content, decoded
// with schema. An attribute the schema requires may not be null: HCL counts
// "x = null" as present, and a block read as complete must be.
func (e *Evaluator) Attrs(b *hcl.Block, content *hcl.BodyContent, schema *hcl.BodySchema) *Attrs {
	a := &Attrs{Evaluator: e, All: content.Attributes, block: b.Type, required: map[string]bool{}}
	for _, as := range schema.Attributes {
		if as.Required {
			a.required[as.Name] = true
		}
	}
	if b.Type == "engine" && len(b.Labels) > 0 {
		a.kind = b.Labels[0]
	}
	return a
}

func (a *Attrs) Has(name string) bool { _, ok := a.All[name]; return ok }

// refsDeclared reports references to variables and locals that the
// blueprint (or module) does not declare, naming the closest declared one;
// hcl alone would say only that an object has no such attribute.
func (a *Attrs) refsDeclared(at *hcl.Attribute) bool {
	ok := true
	for _, ref := range at.Expr.Variables() {
		root := ref.RootName()
		what := map[string]string{"var": "variable", "local": "local value"}[root]
		obj, known := a.Evaluator.Ctx.Variables[root]
		if what == "" || !known || len(ref) < 2 || !obj.Type().IsObjectType() {
			continue
		}
		step, isAttr := ref[1].(hcl.TraverseAttr)
		if !isAttr || obj.Type().HasAttribute(step.Name) {
			continue
		}
		var names []string
		for n := range obj.Type().AttributeTypes() {
			names = append(names, n)
		}
		a.Diags = append(a.Diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared " + what,
			Detail:   fmt.Sprintf("No %s named %q is declared here.%s", what, step.Name, Suggest(step.Name, names)),
			Subject:  ref.SourceRange().Ptr(),
		})
		ok = false
	}
	return ok
}

// Range is the range of an attribute's value, or def when it is not set.
func (a *Attrs) Range(name string, def hcl.Range) hcl.Range {
	if at, ok := a.All[name]; ok {
		return at.Expr.Range()
	}
	return def
}

func (a *Attrs) Errorf(name, summary, format string, args ...any) {
	var subject *hcl.Range
	if at, ok := a.All[name]; ok {
		subject = at.Expr.Range().Ptr()
	}
	a.Diags = append(a.Diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject,
	})
}

// warnf is errorf for a warning: the build goes on.
func (a *Attrs) Warnf(name, summary, format string, args ...any) {
	a.Errorf(name, summary, format, args...)
	a.Diags[len(a.Diags)-1].Severity = hcl.DiagWarning
}

// value evaluates and converts an attribute. ok is false when it is unset,
// null, or has an error already reported. Secrets are refused here: only
// secret() accepts a sensitive value, so a secret cannot leak into a plain
// setting that is rendered in clear text.
func (a *Attrs) value(name string, ty cty.Type) (cty.Value, bool) {
	at, ok := a.All[name]
	if !ok {
		return cty.NilVal, false
	}
	if !a.refsDeclared(at) {
		return cty.NilVal, false
	}
	val, diags := at.Expr.Value(a.Evaluator.Ctx)
	a.Diags = append(a.Diags, diags...)
	if diags.HasErrors() || a.nullRequired(name, val) || val.IsNull() || !val.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if val.ContainsMarked() {
		a.Errorf(name, "Secret in a plain setting",
			"The value of %s comes from a secret (secret_file, secret_env or a sensitive variable), but %s is written in clear text into the appliance's configuration. Only settings documented as secrets accept secrets.", name, name)
		return cty.NilVal, false
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		a.Errorf(name, "Incorrect attribute value type", "%s must be a %s: %s.", name, ty.FriendlyName(), err)
		return cty.NilVal, false
	}
	if conv.IsNull() || !a.checkText(name, conv, false) {
		return cty.NilVal, false
	}
	return conv, true
}

// nullRequired reports, as an error at the attribute, a null given to an
// attribute the schema requires.
func (a *Attrs) nullRequired(name string, val cty.Value) bool {
	if !a.required[name] || !val.IsNull() {
		return false
	}
	a.Errorf(name, "Required setting is null", "%s is required, so it cannot be null.", name)
	return true
}

func (a *Attrs) Str(name, def string) string {
	v, ok := a.value(name, cty.String)
	if !ok {
		return def
	}
	return v.AsString()
}

// requiredStr reads a string the block cannot do without. Unlike str, a
// null or empty value is an error at the attribute: hostname = "" would
// otherwise write an empty /etc/hostname and call it a success.
func (a *Attrs) RequiredStr(name string) string {
	if !a.Has(name) {
		return "" // the schema already reported it missing
	}
	before := len(a.Diags)
	s := a.Str(name, "")
	if s == "" && len(a.Diags) == before {
		a.Errorf(name, "Empty required setting", "%s must not be null or empty.", name)
	}
	return s
}

// required reports a missing attribute that the schema could not mark as
// required because it depends on another (catalog or config, say).
func (a *Attrs) Required(name string, block *hcl.Block, why string) {
	a.Diags = append(a.Diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Missing required argument",
		Detail:   fmt.Sprintf("The argument %q is required%s.", name, why),
		Subject:  block.DefRange.Ptr(),
	})
}

func (a *Attrs) OneOf(name, def string, allowed ...string) string {
	v, ok := a.value(name, cty.String)
	if !ok { // unset, or its error is already reported
		return def
	}
	s := v.AsString()
	for _, ok := range allowed {
		if s == ok {
			return s
		}
	}
	a.Errorf(name, "Unsupported value", "%s must be one of %s, not %q.%s", name, QuoteList(allowed), s, Suggest(s, allowed))
	return def
}

func (a *Attrs) Integer(name string, def, min, max int) int {
	v, ok := a.value(name, cty.Number)
	if !ok {
		return def
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact {
		a.Errorf(name, "Invalid number", "%s must be a whole number.", name)
		return def
	}
	if i < int64(min) || i > int64(max) {
		a.Errorf(name, "Value out of range", "%s must be between %d and %d, not %d.", name, min, max, i)
		return def
	}
	return int(i)
}

func (a *Attrs) Fraction(name string, def float64) float64 {
	v, ok := a.value(name, cty.Number)
	if !ok {
		return def
	}
	f, _ := v.AsBigFloat().Float64()
	if !(f > 0 && f <= 1) || math.IsNaN(f) {
		a.Errorf(name, "Value out of range", "%s is a fraction: more than 0 and at most 1, not %g.", name, f)
		return def
	}
	return f
}

func (a *Attrs) NonNegative(name string) float64 {
	v, ok := a.value(name, cty.Number)
	if !ok {
		return 0
	}
	f, _ := v.AsBigFloat().Float64()
	if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		a.Errorf(name, "Value out of range", "%s must be zero or more, not %g.", name, f)
		return 0
	}
	return f
}

func (a *Attrs) Boolean(name string, def bool) bool {
	v, ok := a.value(name, cty.Bool)
	if !ok {
		return def
	}
	return v.True()
}

func (a *Attrs) Strings(name string) []string {
	v, ok := a.value(name, cty.List(cty.String))
	if !ok {
		return nil
	}
	var out []string
	if err := gocty.FromCtyValue(v, &out); err != nil {
		a.Errorf(name, "Incorrect attribute value type", "%s must be a list of strings: %s.", name, err)
	}
	return out
}

// stringsWithRanges reads a list of strings and where each item was
// written: the item itself in a list literal, the whole attribute when the
// list is computed (a variable, concat()).
func (a *Attrs) StringsWithRanges(name string) ([]string, []hcl.Range) {
	out := a.Strings(name)
	if out == nil {
		return nil, nil
	}
	ranges := make([]hcl.Range, len(out))
	whole := a.Range(name, hcl.Range{})
	elems, diags := hcl.ExprList(a.All[name].Expr)
	for i := range ranges {
		ranges[i] = whole
		if !diags.HasErrors() && len(elems) == len(out) {
			ranges[i] = elems[i].Range()
		}
	}
	return out, ranges
}

func (a *Attrs) StringMap(name string) map[string]string {
	v, ok := a.value(name, cty.Map(cty.String))
	if !ok {
		return nil
	}
	var out map[string]string
	if err := gocty.FromCtyValue(v, &out); err != nil {
		a.Errorf(name, "Incorrect attribute value type", "%s must be a map of strings: %s.", name, err)
	}
	return out
}

func (a *Attrs) Duration(name string, def time.Duration) time.Duration {
	s := a.Str(name, "")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		a.Errorf(name, "Invalid duration", "%s must be a positive duration such as \"90s\", \"45m\" or \"1h30m\", not %q.", name, s)
		return def
	}
	// nginx, the systemd units, NUT and the probe scripts get durations in
	// whole seconds: "500ms" would become 0s there, a timeout that fires
	// at once, and "1.5s" would silently become 1s.
	if d%time.Second != 0 {
		a.Errorf(name, "Invalid duration", "%s must be a whole number of seconds, such as \"1s\" or \"90s\", not %q: sovereign writes durations out in seconds, where %q would become %ds.", name, s, s, d/time.Second)
		return def
	}
	return d
}

// size reads a byte size written with a unit: "256GiB", "128GB", "1.5TiB".
func (a *Attrs) Size(name string) int64 {
	s := a.Str(name, "")
	if s == "" {
		return 0
	}
	n, err := ParseSize(s)
	if err != nil {
		a.Errorf(name, "Invalid size", "%s: %s.", name, err)
		return 0
	}
	return n
}

// secret reads a setting that must come from secret_file(), secret_env() or
// a sensitive variable. A literal is refused: it would sit in the blueprint,
// in version control, in clear text.
func (a *Attrs) Secret(name string) *spec.Secret {
	at, ok := a.All[name]
	if !ok {
		return nil
	}
	if !a.refsDeclared(at) {
		return nil
	}
	val, diags := at.Expr.Value(a.Evaluator.Ctx)
	a.Diags = append(a.Diags, diags...)
	if diags.HasErrors() || a.nullRequired(name, val) || !val.IsWhollyKnown() || val.IsNull() {
		return nil
	}
	if !val.IsMarked() {
		a.Errorf(name, "Secret given as a literal",
			"%s is a secret, so it must come from secret_file(\"PATH\"), secret_env(\"NAME\") or a variable declared sensitive = true; a literal would leave it in clear text in the blueprint.", name)
		return nil
	}
	plain, _ := val.Unmark()
	conv, err := convert.Convert(plain, cty.String)
	if err != nil || conv.IsNull() {
		a.Errorf(name, "Incorrect attribute value type", "%s must be a string.", name)
		return nil
	}
	if !a.checkText(name, conv, true) {
		return nil
	}
	a.secretFileModes(at.Expr)
	return &spec.Secret{Value: conv.AsString(), Range: at.Expr.Range()}
}

// reference reads an attribute that must name another block, like
// model.qwen3 or engine.vllm.main, and returns the names after the root.
func (a *Attrs) Reference(name, root string, parts int) ([]string, hcl.Range, bool) {
	at, ok := a.All[name]
	if !ok {
		return nil, hcl.Range{}, false
	}
	example := root + ".NAME"
	if parts == 2 {
		example = root + ".KIND.NAME"
	}
	trav, diags := hcl.AbsTraversalForExpr(at.Expr)
	if diags.HasErrors() || trav.RootName() != root || len(trav) != parts+1 {
		a.Errorf(name, "Invalid reference", "%s must be a reference like %s, with no quotes.", name, example)
		return nil, hcl.Range{}, false
	}
	var out []string
	for _, step := range trav[1:] {
		attr, ok := step.(hcl.TraverseAttr)
		if !ok {
			a.Errorf(name, "Invalid reference", "%s must be a reference like %s.", name, example)
			return nil, hcl.Range{}, false
		}
		out = append(out, attr.Name)
	}
	return out, at.Expr.Range(), true
}

// ParseSize reads a byte size with a decimal (KB, MB, GB, TB) or binary
// (KiB, MiB, GiB, TiB) unit. A bare number is refused: "256" could mean
// bytes or gigabytes, and guessing wrong by 10⁹ is not a typo to forgive.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
	}
	t := strings.TrimSpace(s)
	for _, u := range units {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		f, _, err := big.ParseFloat(strings.TrimSpace(num), 10, 64, big.ToNearestEven)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number followed by a unit", s)
		}
		v, _ := f.Float64()
		if v < 0 || v*u.mult >= math.MaxInt64 { // float64(MaxInt64) is 2^63, which int64 cannot hold
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return int64(v * u.mult), nil
	}
	return 0, fmt.Errorf("%q needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", s)
}

func DuplicateDiag(what, name string, here, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what,
		Detail:   fmt.Sprintf("%s %s named %q was already declared at %s. Names must be unique.", article(what), what, name, prev),
		Subject:  here.Ptr(),
	}
}

// article is "A" or "An" for what.
func article(what string) string {
	if strings.ContainsRune("aeiou", rune(what[0])) {
		return "An"
	}
	return "A"
}

func QuoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

func KeysOf[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func sortedAttrNames(as hcl.Attributes) []string { return KeysOf(as) }

func orRange(r *hcl.Range, def hcl.Range) *hcl.Range {
	if r != nil {
		return r
	}
	return def.Ptr()
}

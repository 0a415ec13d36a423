package decode

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// engineAttributes are the settings every engine kind has.
var engineAttributes = []string{
	"model", "image", "custom_image", "port", "served_model_name", "start_timeout",
	"api_key", "environment", "extra_args", "min_sessions",
}

// engineSchema is an engine block of kind k: the common settings, the
// common meanings under k's names, and k's own.
func engineSchema(k *spec.EngineKind) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range engineAttributes {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n, Required: n == "model" || n == "image"})
	}
	for _, meaning := range slices.Sorted(maps.Keys(k.Settings)) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: k.Settings[meaning]})
	}
	for _, n := range k.Own {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// kindDecoder lets a kind's package read its own settings.
type kindDecoder struct{ a *lang.Attrs }

func (d kindDecoder) Bool(name string, def bool) bool { return d.a.Boolean(name, def) }
func (d kindDecoder) Int(name string, def, lo, hi int) int {
	return d.a.Integer(name, def, lo, hi)
}
func (d kindDecoder) OneOf(name, def string, allowed ...string) string {
	return d.a.OneOf(name, def, allowed...)
}
func (d kindDecoder) String(name, def string) string  { return d.a.Str(name, def) }
func (d kindDecoder) Secret(name string) *spec.Secret { return d.a.Secret(name) }
func (d kindDecoder) Errorf(name, summary, format string, args ...any) {
	d.a.Errorf(name, summary, format, args...)
}

var (
	parserName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	unsupArg   = regexp.MustCompile(`An argument named "([^"]+)" is not expected here`)
)

// quantizationFits says which quantization methods can read which weight
// formats, so that a blueprint asking an engine to read AWQ weights as GPTQ
// fails here, not after a 20-minute download and load.
var quantizationFits = map[string][]string{
	"awq":                {"awq-int4"},
	"awq_marlin":         {"awq-int4"},
	"gptq":               {"gptq-int4"},
	"gptq_marlin":        {"gptq-int4"},
	"fp8":                {"bf16", "fp8"},
	"compressed-tensors": {"fp8", "awq-int4", "gptq-int4", "nvfp4"},
	"modelopt":           {"fp8"},
	"modelopt_fp4":       {"nvfp4"},
}

func (e *evaluator) engine(b *hcl.Block, models map[string]*spec.Model, gpus int) (*spec.Engine, hcl.Diagnostics) {
	kindName, name := b.Labels[0], b.Labels[1]
	k, ok := e.EngineKinds().Lookup(kindName)
	if !ok {
		kinds := e.EngineKinds().Names()
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown engine kind",
			Detail:   fmt.Sprintf("%q is not an engine sovereign can run. Engines: %s.%s", kindName, lang.QuoteList(kinds), lang.Suggest(kindName, kinds)),
			Subject:  &b.LabelRanges[0],
		}}
	}
	content, diags := b.Body.Content(engineSchema(k))
	diags = explainUnsupported(diags, k, e.EngineKinds())
	if !lang.ValidName(name) {
		diags = append(diags, invalidNameDiag("engine", name, b.LabelRanges[1]))
	}
	a := e.Attrs(b, content, engineSchema(k))
	eng := &spec.Engine{Kind: kindName, Name: name, DeclRange: b.DefRange, Ranges: map[spec.Setting]hcl.Range{}, OwnRanges: map[string]hcl.Range{}}
	e.engineCommon(a, k, eng, models)
	e.engineMeanings(a, k, eng, gpus)
	if eng.APIKey != nil && k.APIKey.Unsupported != "" {
		a.Errorf("api_key", k.Display+" checks no API key", "%s", k.APIKey.Unsupported)
	}
	for _, own := range k.Own {
		if a.Has(own) {
			eng.OwnRanges[own] = a.Range(own, eng.DeclRange)
		}
	}
	if k.Decode != nil {
		k.Decode(kindDecoder{a}, eng)
	}
	checkFlagReleases(a, k, eng)

	if m := eng.Model; m != nil && eng.MaxModelLen > 0 && m.Architecture.MaxPositionEmbeddings > 0 && eng.MaxModelLen > m.Architecture.MaxPositionEmbeddings {
		attr := k.Settings[spec.SettingMaxModelLen]
		a.Errorf(attr, "Context longer than the model's", "%s is %d, but %s was trained for at most %d tokens; %s refuses to start with a longer context.", attr, eng.MaxModelLen, m.Name, m.Architecture.MaxPositionEmbeddings, k.Display)
	}
	return eng, append(diags, a.Diags...)
}

// engineCommon decodes the settings every engine kind has under one name.
func (e *evaluator) engineCommon(a *lang.Attrs, k *spec.EngineKind, eng *spec.Engine, models map[string]*spec.Model) {
	if ref, rng, ok := a.Reference("model", "model", 1); ok {
		eng.Ranges[spec.SettingModel] = rng
		eng.Model = models[ref[0]]
		if eng.Model == nil {
			a.Errorf("model", "Reference to undeclared model", "No model named %q is declared.%s", ref[0], lang.Suggest(ref[0], lang.KeysOf(models)))
		}
	}
	eng.Image = spec.Image{Ref: a.RequiredStr("image"), Range: a.Range("image", eng.DeclRange)}
	eng.CustomImage = a.Boolean("custom_image", false)
	if eng.Image.Ref != "" && !eng.CustomImage && !k.ShipsIn(eng.Image.Ref) {
		a.Errorf("image", "Image of another engine", "Engine %q is %s, but %q is from none of %s's repositories (%s)%s. Use an image of %s, or set custom_image = true if this is your own build of %s.",
			eng.Name, k.Display, eng.Image.Ref, k.Display, lang.QuoteList(k.Images), whoseImage(e.EngineKinds(), eng.Image.Ref), k.Display, k.Display)
	}
	eng.Port = a.Integer("port", 8000, 1024, 65535)
	eng.ServedModelName = a.Str("served_model_name", "")
	if eng.ServedModelName == "" && eng.Model != nil {
		eng.ServedModelName = eng.Model.Name
	}
	eng.StartTimeout = a.Duration("start_timeout", 0)
	eng.APIKey = a.Secret("api_key")
	eng.Environment = a.StringMap("environment")
	eng.EnvironmentRange = a.Range("environment", eng.DeclRange)
	for _, name := range lang.KeysOf(eng.Environment) {
		if !envName.MatchString(name) {
			a.Errorf("environment", "Invalid environment variable name", "%q is not a valid environment variable name.", name)
		}
	}
	eng.ExtraArgs, eng.ExtraArgRanges = a.StringsWithRanges("extra_args")
	eng.MinSessions = a.Integer("min_sessions", 0, 1, 100000)
	if a.Has("min_sessions") {
		eng.Ranges[spec.SettingMinSessions] = a.Range("min_sessions", eng.DeclRange)
	}
}

// whoseImage says which other kind ships ref, if one does: the usual
// mistake is switching an engine's kind and keeping its image.
func whoseImage(kinds spec.EngineKinds, ref string) string {
	for _, name := range kinds.Names() {
		if k, _ := kinds.Lookup(name); k.ShipsIn(ref) {
			return "; it is an image of " + k.Display
		}
	}
	return ""
}

// engineMeanings decodes the settings every engine kind may have, each
// under the kind's own name for it.
func (e *evaluator) engineMeanings(a *lang.Attrs, k *spec.EngineKind, eng *spec.Engine, gpus int) {
	n := k.Settings
	for meaning, attr := range n {
		if a.Has(attr) {
			eng.Ranges[meaning] = a.Range(attr, eng.DeclRange)
		}
	}
	if attr := n[spec.SettingMaxModelLen]; attr != "" {
		eng.MaxModelLen = a.Integer(attr, 0, 1, 10_000_000)
	}
	if attr := n[spec.SettingMemoryFraction]; attr != "" {
		eng.MemoryFraction = a.Fraction(attr, 0)
	}
	eng.KVCacheDType = a.OneOf(n[spec.SettingKVCacheDType], k.KVCacheDTypes[0].Name, k.KVCacheDTypeNames()...)
	eng.TensorParallelSize = max(gpus, 1)
	if attr := n[spec.SettingTensorParallel]; attr != "" {
		eng.TensorParallelSize = a.Integer(attr, max(gpus, 1), 1, 64)
		if gpus > 0 && eng.TensorParallelSize > gpus {
			a.Errorf(attr, "Not enough GPUs", "%s is %d, but the hardware has %d GPU(s).", attr, eng.TensorParallelSize, gpus)
		}
	}
	if attr := n[spec.SettingQuantization]; attr != "" {
		eng.Quantization = a.Str(attr, "")
		checkQuantization(a, attr, k, eng)
	}
	eng.ToolCallParser = parser(a, k, n[spec.SettingToolCallParser])
	eng.ReasoningParser = parser(a, k, n[spec.SettingReasoningParser])
	if attr := n[spec.SettingCPUKVOffload]; attr != "" {
		eng.CPUKVOffloadBytes = a.Size(attr)
	}
	if attr := n[spec.SettingMaxNumSeqs]; attr != "" {
		eng.MaxNumSeqs = a.Integer(attr, 0, 1, 65536)
	}
	if attr := n[spec.SettingMaxNumBatchedTokens]; attr != "" {
		eng.MaxNumBatchedTokens = a.Integer(attr, 0, 1, 1<<24)
	}
}

// parser reads a tool-call or reasoning parser's name from attr; "" when
// the kind has no such setting or the blueprint does not set it.
func parser(a *lang.Attrs, k *spec.EngineKind, attr string) string {
	if attr == "" {
		return ""
	}
	v := a.Str(attr, "")
	if v != "" && !parserName.MatchString(v) {
		a.Errorf(attr, "Invalid parser name", "%q is not a parser name: %s's parsers are lowercase words joined by underscores or dashes, such as \"hermes\" or \"qwen3\".", v, k.Display)
	}
	return v
}

// checkFlagReleases refuses a setting whose flag the image's release does
// not have yet: the engine would refuse to start after its image pull.
func checkFlagReleases(a *lang.Attrs, k *spec.EngineKind, eng *spec.Engine) {
	v, ok := spec.ReleaseOf(eng.Image.Ref)
	if !ok {
		return
	}
	for _, f := range k.Flags {
		if a.Has(f.Setting) && v.Less(f.Since) {
			a.Errorf(f.Setting, "Engine release too old for "+f.Setting, "The image is %s %s, which has no %s (it came in %s). %s", k.Display, v, f.Flag, f.Since, f.Otherwise)
		}
	}
}

func checkQuantization(a *lang.Attrs, attr string, k *spec.EngineKind, eng *spec.Engine) {
	if eng.Quantization == "" {
		return
	}
	fits, known := quantizationFits[eng.Quantization]
	switch {
	case !known || !slices.Contains(k.Quantizations, eng.Quantization):
		a.Errorf(attr, "Unsupported value", "%s must be one of %s, not %q.%s", attr, lang.QuoteList(k.Quantizations), eng.Quantization, lang.Suggest(eng.Quantization, k.Quantizations))
	case eng.Model != nil && eng.Model.Weights != "" && !slices.Contains(fits, eng.Model.Weights):
		a.Errorf(attr, "Quantization does not match the weights", "%s's %q method cannot read %s weights (model %q); it reads %s. Leave quantization unset to let the engine detect it from the checkpoint.", k.Display, eng.Quantization, eng.Model.Weights, eng.Model.Name, lang.QuoteList(fits))
	}
}

// explainUnsupported rewrites hcl's "An argument named x is not expected
// here" for engine blocks: when another engine has x, or this engine has
// the same setting under another name, the message says so.
func explainUnsupported(diags hcl.Diagnostics, k *spec.EngineKind, kinds spec.EngineKinds) hcl.Diagnostics {
	for _, d := range diags {
		m := unsupArg.FindStringSubmatch(d.Detail)
		if d.Summary != "Unsupported argument" || m == nil {
			continue
		}
		attr := m[1]
		var known []string
		for _, as := range engineSchema(k).Attributes {
			known = append(known, as.Name)
		}
		detail := fmt.Sprintf("%s (engine %q) has no setting %q.%s", k.Display, k.Name, attr, lang.Suggest(attr, known))
		var elsewhere, equivalents []string
		for _, otherName := range kinds.Names() {
			other, _ := kinds.Lookup(otherName)
			if other.Name == k.Name {
				continue
			}
			for meaning, spelling := range other.Settings {
				if spelling == attr {
					if own := k.Settings[meaning]; own != "" {
						equivalents = append(equivalents, own)
					}
					elsewhere = append(elsewhere, other.Name)
				}
			}
			if slices.Contains(other.Own, attr) {
				elsewhere = append(elsewhere, other.Name)
			}
		}
		for _, own := range dedupe(equivalents) {
			detail += fmt.Sprintf(" Its %s equivalent is %q.", k.Display, own)
		}
		if len(elsewhere) > 0 {
			detail += fmt.Sprintf(" (%q is a setting of %s.)", attr, strings.Join(dedupe(elsewhere), " and "))
		}
		d.Detail = detail
	}
	return diags
}

func dedupe(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

package blueprints

import (
	"regexp"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var modelSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "catalog"},
		{Name: "config"},
		{Name: "weights", Required: true},
		{Name: "source"},
		{Name: "revision"},
	},
}

// WeightFormats are the weight formats the planner knows the size of.
var WeightFormats = []string{"bf16", "fp8", "awq-int4", "gptq-int4", "nvfp4"}

var (
	blockName   = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,46}[a-z0-9])?$`)
	hfSource    = regexp.MustCompile(`^hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	gitRevision = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func (e *evaluator) model(b *hcl.Block) (*spec.Model, hcl.Diagnostics) {
	content, diags := b.Body.Content(modelSchema)
	m := &spec.Model{Name: b.Labels[0], DeclRange: b.DefRange}
	if !blockName.MatchString(m.Name) {
		diags = append(diags, invalidNameDiag("model", m.Name, b.LabelRanges[0]))
	}
	a := e.attrs(content)
	switch {
	case a.has("catalog") && a.has("config"):
		a.errorf("config", "Conflicting model architecture", "Give either catalog (a built-in model) or config (a Hugging Face config.json), not both.")
	case a.has("catalog"):
		name := a.requiredStr("catalog")
		arch, ok := catalog.LookupModel(name)
		if !ok && name != "" {
			a.errorf("catalog", "Unknown model", "%q is not in the model catalog. Known models: %s.%s Or describe the model with config = file(\"config.json\").", name, quoteList(catalog.ModelNames()), suggest(name, catalog.ModelNames()))
		}
		m.Architecture = arch
	case a.has("config"):
		text := a.str("config", "")
		if text != "" {
			arch, err := catalog.ParseHFConfig(m.Name, []byte(text))
			if err != nil {
				a.errorf("config", "Unusable model config", "%s.", err)
			}
			m.Architecture = arch
		}
	default:
		a.required("catalog", b, ` (or config = file("config.json")): the planner and engines need the model's architecture`)
	}
	m.Weights = a.oneOf("weights", "", WeightFormats...)
	m.Source = a.str("source", "")
	if m.Source != "" && !hfSource.MatchString(m.Source) {
		a.errorf("source", "Invalid model source", "%q must look like hf://ORGANISATION/REPOSITORY.", m.Source)
	}
	m.Revision = a.str("revision", "")
	if m.Revision != "" && !gitRevision.MatchString(m.Revision) {
		a.errorf("revision", "Invalid model revision", "%q must be a full 40-character commit hash: a branch or tag can move, and then a rebuild would serve different weights.", m.Revision)
	}
	return m, append(diags, a.diags...)
}

func invalidNameDiag(what, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what + " name",
		Detail:   "The name " + `"` + name + `"` + " is used in file and unit names: use lowercase letters, digits, dots and dashes, starting and ending with a letter or digit, at most 48 characters.",
		Subject:  rng.Ptr(),
	}
}

package decode

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var modelSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "catalog"},
		{Name: "config"},
		{Name: "weights", Required: true},
		{Name: "source"},
		{Name: "revision"},
		{Name: "files"},
		{Name: "mirror"},
		{Name: "token"},
	},
}

// WeightFormats are the weight formats the planner knows the size of.
var WeightFormats = []string{"bf16", "fp8", "awq-int4", "gptq-int4", "nvfp4"}

var (
	hfSource    = regexp.MustCompile(`^hf://[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	gitRevision = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// A model file's path inside its folder: slash-separated names that do
	// not start with a dot (so no "..", no hidden files) and need no quoting
	// in the sha256sum manifest, a URL or a shell.
	modelFile = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$`)
	fileSHA   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	hfToken   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
)

func (e *evaluator) model(b *hcl.Block) (*spec.Model, hcl.Diagnostics) {
	content, diags := b.Body.Content(modelSchema)
	m := &spec.Model{Name: b.Labels[0], DeclRange: b.DefRange}
	if !lang.ValidName(m.Name) {
		diags = append(diags, invalidNameDiag("model", m.Name, b.LabelRanges[0]))
	}
	a := e.Attrs(b, content, modelSchema)
	var configText string
	switch {
	case a.Has("catalog") && a.Has("config"):
		a.Errorf("config", "Conflicting model architecture", "Give either catalog (a built-in model) or config (a Hugging Face config.json), not both.")
	case a.Has("catalog"):
		name := a.RequiredStr("catalog")
		arch, ok := catalog.LookupModel(name)
		if !ok && name != "" {
			a.Errorf("catalog", "Unknown model", "%q is not in the model catalog. Known models: %s.%s Or describe the model with config = file(\"config.json\").", name, lang.QuoteList(catalog.ModelNames()), lang.Suggest(name, catalog.ModelNames()))
		}
		m.Architecture = arch
	case a.Has("config"):
		text := a.Str("config", "")
		configText = text
		if text != "" {
			arch, err := catalog.ParseHFConfig(m.Name, []byte(text))
			if err != nil {
				a.Errorf("config", "Unusable model config", "%s.", err)
			}
			m.Architecture = arch
		}
	default:
		a.Required("catalog", b, ` (or config = file("config.json")): the planner and engines need the model's architecture`)
	}
	m.Weights = a.OneOf("weights", "", WeightFormats...)
	m.Source = a.Str("source", "")
	if m.Source != "" && !hfSource.MatchString(m.Source) {
		a.Errorf("source", "Invalid model source", "%q must look like hf://ORGANISATION/REPOSITORY.", m.Source)
	}
	m.Revision = a.Str("revision", "")
	if m.Revision != "" && !gitRevision.MatchString(m.Revision) {
		a.Errorf("revision", "Invalid model revision", "%q must be a full 40-character commit hash: a branch or tag can move, and then a rebuild would serve different weights.", m.Revision)
	}
	modelWeights(m, a)
	// The planner sizes the model from config; the appliance must fetch or
	// find that same config.json, or the plan is of another model.
	if pinned, ok := m.Files["config.json"]; ok && configText != "" {
		if sum := sha256.Sum256([]byte(configText)); hex.EncodeToString(sum[:]) != pinned {
			a.Errorf("config", "Model config differs from its files", "The config.json given here has sha256 %x, but files pins config.json at %s: the plan would be made for other weights than those on the appliance. Read config.json from the same revision.", sum, pinned)
		}
	}
	return m, append(diags, a.Diags...)
}

// modelWeights decodes where the weights come from and how they are checked.
// Weights are pinned like images: the appliance downloads only a source
// pinned to a commit with every file's sha256, so two builds of a blueprint
// can never fetch different weights. A source without revision and files is
// never downloaded: it records where pre-staged weights came from.
func modelWeights(m *spec.Model, a *lang.Attrs) {
	before := len(a.Diags)
	files := a.StringMap("files")
	typeErr := len(a.Diags) > before
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		digest := files[name]
		switch {
		case !modelFile.MatchString(name):
			a.Diags = append(a.Diags, fileDiag(a.All["files"], name, "Invalid model file name", "%q must be a path inside the model folder: names of letters, digits, '_', '.', '+' and '-' separated by '/', none starting with a dot.", name))
		case !fileSHA.MatchString(digest):
			a.Diags = append(a.Diags, fileDiag(a.All["files"], name, "Invalid file digest", "The digest of %q must be \"sha256:\" and 64 lowercase hex digits, as `sha256sum` prints them.", name))
		default:
			if m.Files == nil {
				m.Files = map[string]string{}
			}
			m.Files[name] = digest[len("sha256:"):]
		}
	}
	if a.Has("files") && len(files) == 0 && !typeErr {
		a.Errorf("files", "Empty model manifest", "files lists no file: give every file of the model folder with its sha256, or leave files out.")
	}
	m.Mirror = strings.TrimSuffix(a.Str("mirror", ""), "/")
	if m.Mirror != "" {
		if u, err := url.Parse(m.Mirror); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(m.Mirror, " \t\n\"'\\") {
			a.Errorf("mirror", "Invalid mirror", "%q must be an http:// or https:// URL without query: file F of the model is fetched from MIRROR/F.", m.Mirror)
		}
	}
	revision := gitRevision.MatchString(m.Revision) // an invalid one is already reported
	switch {
	case m.Source != "" && revision && !a.Has("files"):
		a.Errorf("revision", "Model files not pinned", "A source with a revision is fetched at first boot, and every file it fetches is checked against its sha256: list them with files = { \"config.json\" = \"sha256:…\", … } (`sha256sum *` in a downloaded copy prints them). To copy the weights to the appliance yourself instead, leave revision out.")
	case m.Source != "" && m.Revision == "" && a.Has("files"):
		a.Errorf("source", "Model revision missing", "A source with files is fetched at first boot from a commit, never a branch that can move: add revision = \"<40-character commit hash>\". To copy the weights to the appliance yourself instead, leave source out; the files are then checked at boot.")
	case a.Has("mirror") && (m.Source == "" || !a.Has("files")):
		a.Errorf("mirror", "Mirror without a pinned source", "A mirror replaces huggingface.co for a fetched model: it needs source, revision and files.")
	}
	m.Token = a.Secret("token")
	switch {
	case m.Token == nil:
	case m.Source == "" || !a.Has("files"):
		a.Errorf("token", "Token without a pinned source", "The token is sent when the weights are fetched at first boot, which needs source, revision and files.")
		m.Token = nil
	case !hfToken.MatchString(m.Token.Value):
		// The message must not quote the token.
		a.Errorf("token", "Invalid token", "The token must be one word of letters, digits, '_', '-' and '.', as Hugging Face access tokens (hf_…) are.")
		m.Token = nil
	}
}

// fileDiag is an error about one entry of files, at that entry's value
// when files is written as an object, at the whole value otherwise.
func fileDiag(at *hcl.Attribute, key, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  lang.ItemRange(at, key).Ptr(),
	}
}

func invalidNameDiag(what, name string, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what + " name",
		Detail:   "The name " + `"` + name + `"` + " is used in file and unit names: use lowercase letters, digits, dots and dashes, starting and ending with a letter or digit, at most 48 characters.",
		Subject:  rng.Ptr(),
	}
}

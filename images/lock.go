package images

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/afero"
	"github.com/zclconf/go-cty/cty"
)

// The lock file: FOLDER/sovereign.lock.hcl for a folder
// blueprint, NAME.lock.hcl beside a single-file blueprint NAME.hcl, so that
// two blueprints can share a folder.
const (
	LockFileName   = "sovereign.lock.hcl"
	lockFileSuffix = ".lock.hcl"
)

// Kinds of what a digest names.
const (
	KindIndex    = "index"    // a multi-platform index (manifest list)
	KindManifest = "manifest" // a single-platform image manifest
)

// SourceRegistry is an entry's source when `sovereign lock` resolved it
// against the registry. Any other source is free text saying where the pin
// came from (a public pin somebody else published, say): such an entry
// pins as firmly, but nobody here has checked it against the registry.
const SourceRegistry = "registry"

// Unresolved stands for a per-platform digest that is not known. The index
// digest alone pins the image (it fixes every child); the platform digest
// is a second check that `sovereign lock` fills in.
const Unresolved = "unresolved"

// Lock is the content of a lock file: one entry per image reference.
type Lock struct {
	// Path is where the lock was read from, or will be written.
	Path string
	// Exists is false when no lock file was there to read.
	Exists bool
	// Blueprint is the blueprint the lock belongs to, as the user named
	// it: diagnostics give `sovereign lock <Blueprint>` as the fix.
	Blueprint string
	// Images by Ref.Key(): "docker.io/vllm/vllm-openai:v0.14.0".
	Images map[string]*Entry
	// OS is the built host OS image (`sovereign os build`), nil until one
	// was built.
	OS *OSEntry
}

// Entry pins one image reference.
type Entry struct {
	Ref string // the block label, repo:tag
	Tag string
	// Digest is the digest the tag pointed to: an index's or, for a
	// single-platform image, its manifest's.
	Digest string
	Kind   string
	// Platforms maps each platform the blueprint's host needs
	// ("linux/arm64") to its image manifest digest, or Unresolved.
	Platforms map[string]string
	// Source is SourceRegistry or where the pin came from.
	Source string
	// Unpinned, when set, is the reason this image runs by tag: an
	// explicit opt-out written by a person, warned about at every build.
	Unpinned string

	DeclRange hcl.Range
}

// NewLock returns an empty lock to be written at path.
func NewLock(path string) *Lock { return &Lock{Path: path, Images: map[string]*Entry{}} }

// LockPath is the lock file of the blueprint at target (a .hcl file or a
// folder).
func LockPath(fsys afero.Fs, target string) (string, error) {
	info, err := fsys.Stat(target)
	if err != nil {
		return "", err
	}
	if info.IsDir() {
		return filepath.Join(target, LockFileName), nil
	}
	return strings.TrimSuffix(target, filepath.Ext(target)) + lockFileSuffix, nil
}

// ReadLock reads the lock of the blueprint at target. A missing lock file is
// not an error here: it is an empty lock with Exists false, and Pin says
// what to do about each image that needed it. The parsed file is returned so
// that diagnostics in it can be printed with snippets.
func ReadLock(fsys afero.Fs, target string) (*Lock, *hcl.File, hcl.Diagnostics) {
	path, err := LockPath(fsys, target)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Blueprint not found", Detail: err.Error()}}
	}
	src, err := afero.ReadFile(fsys, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			lock := NewLock(path)
			lock.Blueprint = target
			return lock, nil, nil
		}
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read the lock file",
			Detail:   fmt.Sprintf("The lock file %s could not be read: %s.", path, err),
		}}
	}
	lock, file, diags := ParseLock(src, path)
	if lock != nil {
		lock.Exists = true
		lock.Blueprint = target
	}
	return lock, file, diags
}

var (
	lockSchema = &hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "image", LabelNames: []string{"reference"}},
			{Type: "os", LabelNames: []string{"reference"}},
		},
	}
	imageBlockSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "tag", Required: true},
			{Name: "digest"},
			{Name: "kind"},
			{Name: "source"},
			{Name: "unpinned"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "platform", LabelNames: []string{"platform"}}},
	}
	platformBlockSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "digest", Required: true}},
	}
	digestRE   = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)
)

// ParseLock parses lock file source. Every mistake is a diagnostic at its
// place; a lock with errors is not used.
func ParseLock(src []byte, filename string) (*Lock, *hcl.File, hcl.Diagnostics) {
	file, diags := hclparse.NewParser().ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, file, diags
	}
	content, moreDiags := file.Body.Content(lockSchema)
	diags = append(diags, moreDiags...)
	lock := NewLock(filename)
	for _, block := range content.Blocks {
		if block.Type == "os" {
			diags = append(diags, lock.addOS(block)...)
			continue
		}
		e, moreDiags := decodeImageBlock(block)
		diags = append(diags, moreDiags...)
		if e == nil {
			continue
		}
		if prev, ok := lock.Images[e.Ref]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate image in the lock file",
				Detail:   fmt.Sprintf("%s is locked twice; the other entry is at %s. Keep one, or run `sovereign lock` to rewrite the file.", e.Ref, prev.DeclRange),
				Subject:  block.LabelRanges[0].Ptr(),
			})
			continue
		}
		lock.Images[e.Ref] = e
	}
	if diags.HasErrors() {
		return nil, file, diags
	}
	return lock, file, diags
}

func decodeImageBlock(block *hcl.Block) (*Entry, hcl.Diagnostics) {
	label := block.Labels[0]
	ref, err := ParseRef(label)
	if err != nil || ref.Digest != "" || ref.Key() != label {
		detail := fmt.Sprintf("%q is not a reference in the form the lock uses, registry/repository:tag", label)
		if err != nil {
			detail += ": " + err.Error()
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid image reference in the lock file", Detail: detail + ".", Subject: block.LabelRanges[0].Ptr()}}
	}
	content, diags := block.Body.Content(imageBlockSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	e := &Entry{Ref: label, Platforms: map[string]string{}, DeclRange: block.DefRange}
	diags = append(diags, decodeAttrs(content, []attrInto{
		{"tag", &e.Tag}, {"digest", &e.Digest}, {"kind", &e.Kind}, {"source", &e.Source}, {"unpinned", &e.Unpinned},
	})...)
	if diags.HasErrors() {
		return nil, diags
	}
	errAt := func(attr, summary, detail string) {
		subject := block.DefRange.Ptr()
		if a, ok := content.Attributes[attr]; ok {
			subject = a.Expr.Range().Ptr()
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject})
	}
	if e.Tag != ref.Tag {
		errAt("tag", "Tag does not match the reference", fmt.Sprintf("The entry for %s says tag = %q; it must be %q.", label, e.Tag, ref.Tag))
	}
	switch {
	case e.Unpinned != "":
		if e.Digest != "" || len(content.Blocks) > 0 {
			errAt("unpinned", "Unpinned image with a digest", fmt.Sprintf("%s is marked unpinned but has digests. An image is either pinned by its digest or, by an explicit opt-out, unpinned: remove one.", label))
		}
	case !digestRE.MatchString(e.Digest):
		errAt("digest", "Invalid digest", fmt.Sprintf("The entry for %s needs digest = \"sha256:<64 hex digits>\", the digest its tag points to. Run `sovereign lock` to resolve it; never write one from memory.", label))
	}
	if e.Unpinned == "" && e.Kind != KindIndex && e.Kind != KindManifest {
		errAt("kind", "Invalid kind", fmt.Sprintf("The entry for %s needs kind = %q or %q: what its digest names.", label, KindIndex, KindManifest))
	}
	for _, pb := range content.Blocks {
		platform := pb.Labels[0]
		pc, moreDiags := pb.Body.Content(platformBlockSchema)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			continue
		}
		var d string
		diags = append(diags, gohcl.DecodeExpression(pc.Attributes["digest"].Expr, nil, &d)...)
		switch {
		case !platformRE.MatchString(platform):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid platform", Detail: fmt.Sprintf("%q is not a platform such as \"linux/arm64\".", platform), Subject: pb.LabelRanges[0].Ptr()})
		case d != Unresolved && !digestRE.MatchString(d):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid digest", Detail: fmt.Sprintf("The %s digest of %s must be \"sha256:<64 hex digits>\" or %q.", platform, label, Unresolved), Subject: pc.Attributes["digest"].Expr.Range().Ptr()})
		case e.Platforms[platform] != "":
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate platform", Detail: fmt.Sprintf("%s has two %s entries.", label, platform), Subject: pb.LabelRanges[0].Ptr()})
		default:
			e.Platforms[platform] = d
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return e, diags
}

// Bytes renders the lock file: entries sorted by reference, platforms
// sorted, no timestamps, so that the same pins give the same bytes and a
// change reads as a small diff in review.
func (l *Lock) Bytes() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	comment(body,
		"This file pins every container image of the blueprint beside it to a digest,",
		"for each platform its host needs. `sovereign lock` writes it; `sovereign build`",
		"only reads it and never touches the network. Commit it and review changes to",
		"it like code: a new digest is new software on the appliance.")
	keys := make([]string, 0, len(l.Images))
	for k := range l.Images {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := l.Images[k]
		body.AppendNewline()
		switch {
		case e.Unpinned != "":
			comment(body, "UNPINNED by an explicit opt-out: this image runs by its tag, which can move.")
		case e.Source != SourceRegistry:
			comment(body, wrap("Not resolved by `sovereign lock` here: pinned from "+e.Source+
				". `sovereign lock --check` verifies it, and `sovereign lock` replaces it, wherever the registry is reachable.", 78)...)
		}
		for _, p := range sortedPlatforms(e.Platforms) {
			if e.Platforms[p] == Unresolved {
				comment(body, wrap("The "+p+" manifest digest is unresolved: the index digest alone pins the image (it fixes every child); `sovereign lock` adds the child's digest as a second check.", 78)...)
			}
		}
		b := body.AppendNewBlock("image", []string{k}).Body()
		b.SetAttributeValue("tag", cty.StringVal(e.Tag))
		if e.Unpinned != "" {
			b.SetAttributeValue("unpinned", cty.StringVal(e.Unpinned))
			continue
		}
		b.SetAttributeValue("digest", cty.StringVal(e.Digest))
		b.SetAttributeValue("kind", cty.StringVal(e.Kind))
		b.SetAttributeValue("source", cty.StringVal(e.Source))
		for _, p := range sortedPlatforms(e.Platforms) {
			b.AppendNewline()
			pb := b.AppendNewBlock("platform", []string{p}).Body()
			pb.SetAttributeValue("digest", cty.StringVal(e.Platforms[p]))
		}
	}
	if l.OS != nil {
		appendOSBlock(body, l.OS)
	}
	return hclwrite.Format(f.Bytes())
}

func comment(body *hclwrite.Body, lines ...string) {
	var toks hclwrite.Tokens
	for _, l := range lines {
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + l + "\n")})
	}
	body.AppendUnstructuredTokens(toks)
}

func sortedPlatforms(m map[string]string) []string {
	ps := make([]string, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// attrInto is an entry's attribute and where its value goes.
type attrInto struct {
	name string
	dst  any
}

// decodeAttrs decodes each attribute a lock entry has into its destination,
// in the order given; one it lacks leaves its destination as it is, for the
// entry's own checks to report.
func decodeAttrs(content *hcl.BodyContent, attrs []attrInto) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, at := range attrs {
		if a, ok := content.Attributes[at.name]; ok {
			diags = append(diags, gohcl.DecodeExpression(a.Expr, nil, at.dst)...)
		}
	}
	return diags
}

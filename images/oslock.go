package images

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// OSProvenance is what a host OS image is built from: everything that, when
// it changes, makes a built image stale. The blueprint decides it; the lock
// file's os entry records the one the pinned image was built from.
type OSProvenance struct {
	Platform string
	// Base is the base image as pinned, REPOSITORY@sha256:….
	Base string
	// Driver is the NVIDIA driver and its flavour ("580.126.20 open"), ""
	// without one.
	Driver          string
	Packages        []string
	KernelArguments []string
	// Context is the digest of the build context: the Containerfile and
	// every file it copies, so that a new sovereign that renders the image
	// differently makes the pin stale too.
	Context string
}

// OSEntry pins the built host OS image: where it was pushed, its digest and
// what it was built from and with.
type OSEntry struct {
	// Ref is where the image was pushed, REGISTRY/REPOSITORY:TAG.
	Ref    string
	Digest string
	// Builder is the builder and its version ("buildah 1.28.2").
	Builder string
	OSProvenance

	DeclRange hcl.Range
}

// Pinned is the image by digest, REGISTRY/REPOSITORY@sha256:….
func (e *OSEntry) Pinned() string {
	ref, err := ParseRef(e.Ref)
	if err != nil {
		return e.Ref + "@" + e.Digest
	}
	return ref.At(e.Digest)
}

// Differences lists, in words, how want differs from what the entry's image
// was built from; none when the image is still the one the blueprint asks for.
func (e *OSEntry) Differences(want OSProvenance) []string {
	var out []string
	diff := func(what, was, now string) {
		if was != now {
			out = append(out, fmt.Sprintf("%s %s -> %s", what, orNone(was), orNone(now)))
		}
	}
	diff("platform", e.Platform, want.Platform)
	diff("base", e.Base, want.Base)
	diff("NVIDIA driver", e.Driver, want.Driver)
	if added, removed := listDiff(e.Packages, want.Packages); added != "" || removed != "" {
		out = append(out, "packages"+joinNonEmpty(prefixed("+", added), prefixed("-", removed)))
	}
	diff("kernel arguments", strings.Join(e.KernelArguments, " "), strings.Join(want.KernelArguments, " "))
	if len(out) == 0 && e.Context != want.Context {
		out = append(out, fmt.Sprintf("the Containerfile or a script it copies (build context %s -> %s; a newer sovereign renders the image differently)", orNone(e.Context), want.Context))
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func listDiff(was, now []string) (added, removed string) {
	var a, r []string
	for _, n := range now {
		if !slices.Contains(was, n) {
			a = append(a, n)
		}
	}
	for _, w := range was {
		if !slices.Contains(now, w) {
			r = append(r, w)
		}
	}
	return strings.Join(a, " "), strings.Join(r, " ")
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return " " + p + strings.ReplaceAll(s, " ", " "+p)
}

func joinNonEmpty(parts ...string) string { return strings.Join(parts, "") }

var osBlockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "digest", Required: true},
		{Name: "platform", Required: true},
		{Name: "base", Required: true},
		{Name: "driver"},
		{Name: "packages", Required: true},
		{Name: "kernel_arguments"},
		{Name: "context", Required: true},
		{Name: "builder", Required: true},
	},
}

// decodeOSBlock reads the lock file's os "REF" { … } block.
func decodeOSBlock(block *hcl.Block) (*OSEntry, hcl.Diagnostics) {
	label := block.Labels[0]
	ref, err := ParseRef(label)
	if err != nil || ref.Digest != "" || ref.Key() != label {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid OS image reference in the lock file",
			Detail:  fmt.Sprintf("%q is not where an OS image was pushed, in the form registry/repository:tag. `sovereign os build` writes this entry; run it again rather than editing it.", label),
			Subject: block.LabelRanges[0].Ptr()}}
	}
	content, diags := block.Body.Content(osBlockSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	e := &OSEntry{Ref: label, DeclRange: block.DefRange}
	diags = append(diags, decodeAttrs(content, []attrInto{
		{"digest", &e.Digest}, {"platform", &e.Platform}, {"base", &e.Base}, {"driver", &e.Driver},
		{"packages", &e.Packages}, {"kernel_arguments", &e.KernelArguments}, {"context", &e.Context}, {"builder", &e.Builder},
	})...)
	if diags.HasErrors() {
		return nil, diags
	}
	for _, f := range []struct{ name, value string }{{"digest", e.Digest}, {"context", e.Context}} {
		if name := f.name; !digestRE.MatchString(f.value) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid digest",
				Detail:  fmt.Sprintf("The os entry's %s must be \"sha256:<64 hex digits>\"; `sovereign os build` records it.", name),
				Subject: content.Attributes[name].Expr.Range().Ptr()})
		}
	}
	if !platformRE.MatchString(e.Platform) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid platform",
			Detail: fmt.Sprintf("%q is not a platform such as \"linux/arm64\".", e.Platform), Subject: content.Attributes["platform"].Expr.Range().Ptr()})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return e, nil
}

// appendOSBlock renders the os entry.
func appendOSBlock(body *hclwrite.Body, e *OSEntry) {
	body.AppendNewline()
	comment(body, wrap("The host OS image `sovereign os build` built from the os block and pushed to "+e.Ref+
		", and what it was built from: a build fails while the os block asks for anything else.", 78)...)
	b := body.AppendNewBlock("os", []string{e.Ref}).Body()
	b.SetAttributeValue("digest", cty.StringVal(e.Digest))
	b.SetAttributeValue("platform", cty.StringVal(e.Platform))
	b.SetAttributeValue("base", cty.StringVal(e.Base))
	if e.Driver != "" {
		b.SetAttributeValue("driver", cty.StringVal(e.Driver))
	}
	b.SetAttributeValue("packages", stringList(e.Packages))
	if len(e.KernelArguments) > 0 {
		b.SetAttributeValue("kernel_arguments", stringList(e.KernelArguments))
	}
	b.SetAttributeValue("context", cty.StringVal(e.Context))
	b.SetAttributeValue("builder", cty.StringVal(e.Builder))
}

func stringList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	v, _ := gocty.ToCtyValue(ss, cty.List(cty.String))
	return v
}

// addOS decodes block as the lock's one os entry.
func (l *Lock) addOS(block *hcl.Block) hcl.Diagnostics {
	e, diags := decodeOSBlock(block)
	switch {
	case e == nil:
		return diags
	case l.OS != nil:
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate OS image in the lock file",
			Detail:  fmt.Sprintf("A blueprint has one host OS image, and the lock already pins one at %s. Keep one, or run `sovereign os build` again to rewrite the entry.", l.OS.DeclRange),
			Subject: block.LabelRanges[0].Ptr()}}
	}
	l.OS = e
	return diags
}

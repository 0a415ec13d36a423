// Package pipeline runs a build from blueprint to output tree: load and
// evaluate the blueprint, compile the modules, pin images, render units and
// Ignition, and write out/ atomically. It reads and writes only through the
// afero filesystem it is given, so tests run it in memory.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules"
	"github.com/sovereign-collective/sovereign/modules/hostos"
	"github.com/sovereign-collective/sovereign/modules/plan"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/ignition"
)

// Result is everything a build produces, in memory.
type Result struct {
	Blueprint *spec.Blueprint
	Tree      *units.Tree
	Rootfs    []*units.File
	Ignition  []byte
	Butane    []byte
	Manifest  []byte
	// Plans are the capacity plans of the engines; Plan is out/plan.json.
	Plans []plan.EnginePlan
	Plan  []byte
	// Images is out/images.json: every image the appliance runs and its pin.
	Images []byte
	// OS is the host OS image the os block describes, and OSFiles its
	// build context, out/os/; both nil without an os block.
	OS      *hostos.Image
	OSFiles []hostos.File
	// WriteExtra, when set, writes more of the output (the image layout of
	// an image-mode build) into the folder that becomes out/.
	WriteExtra func(fsys afero.Fs, dir string) error
}

// Load evaluates the blueprint at target. Diagnostics print with p.Files().
func Load(p *blueprints.Parser, target string, in blueprints.Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	return p.Load(target, in)
}

// Build runs every phase up to, not including, writing the output. Each phase
// runs only when the ones before it had no errors, so that one mistake is not
// reported again as a confusing consequence further down.
func Build(p *blueprints.Parser, target string, in blueprints.Inputs, opts ...Option) (*Result, hcl.Diagnostics) {
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		return nil, diags
	}
	plans, moreDiags := plan.Blueprint(bp)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	planJSON, err := plan.JSON(plans)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error()})
	}
	tree, moreDiags := modules.Compile(bp)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, imagesJSON, moreDiags := pinImages(p, target, bp, tree, opts)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	osImage, osFiles, moreDiags := hostOS(p, target, bp, opts)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	// Last before rendering: the host's own list of what the build made,
	// which sovereign-verify.timer checks the host against.
	if tree, err = tree.WithHostManifest(bp.Appliance.DeclRange); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error()})
	}
	out, moreDiags := ignition.Render(tree)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	rootfs, err := tree.Rootfs()
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error()})
	}
	manifest, err := Manifest(rootfs)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error()})
	}
	return &Result{
		Blueprint: bp,
		Tree:      tree,
		Rootfs:    rootfs,
		Ignition:  out.Ignition,
		Butane:    out.Butane,
		Manifest:  manifest,
		Plans:     plans,
		Plan:      planJSON,
		Images:    imagesJSON,
		OS:        osImage,
		OSFiles:   osFiles,
	}, diags
}

// ManifestEntry describes one file of out/rootfs (DESIGN §4).
type ManifestEntry struct {
	Path   string `json:"path"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	Secret bool   `json:"secret"`
}

// Manifest lists every rootfs file with its mode and digest, sorted by path.
// A secret file's digest is left empty: the manifest is meant to be shared
// and diffed, and the SHA-256 of a short API key can be brute-forced offline.
// Whether a secret changed is told by comparing the rootfs files themselves.
func Manifest(rootfs []*units.File) ([]byte, error) {
	entries := make([]ManifestEntry, 0, len(rootfs))
	for _, f := range rootfs {
		digest := ""
		if !f.Secret {
			sum := sha256.Sum256(f.Contents)
			digest = hex.EncodeToString(sum[:])
		}
		entries = append(entries, ManifestEntry{
			Path:   f.Path,
			Mode:   fmt.Sprintf("%04o", f.Mode),
			SHA256: digest,
			Size:   len(f.Contents),
			Secret: f.Secret,
		})
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

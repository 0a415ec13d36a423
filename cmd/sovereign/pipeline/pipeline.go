// Package pipeline runs a build from blueprint to output tree: load and
// evaluate the blueprint, compile the modules, pin images, render units and
// Ignition, and write out/ atomically. It reads and writes only through the
// afero filesystem it is given, so tests run it in memory.
package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/modules"
	"github.com/sovereign-collective/sovereign/modules/capacity"
	"github.com/sovereign-collective/sovereign/modules/hostos"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/ignition"
	"github.com/sovereign-collective/sovereign/units/output"
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
	Plans []capacity.EnginePlan
	Plan  []byte
	// Images is out/images.json: every image the appliance runs and its pin.
	Images []byte
	// OS is the host OS image the os block describes, and OSFiles its
	// build context, out/os/; both nil without an os block.
	OS      *hostos.Image
	OSFiles []hostos.File
	// OSBuilt is the lock's entry for the built OS image, nil before
	// `sovereign os build` built it from exactly this os block.
	OSBuilt *images.OSEntry
	// Image is the appliance image of an image-mode build (out/image/,
	// out/image.json); nil otherwise.
	Image *BuiltImage
	// Pointer is out/pointer.ign (--ignition-url): the user-data that
	// fetches ignition.json from its URL; nil otherwise.
	Pointer []byte
}

// Load evaluates the blueprint at target. Diagnostics print with p.Files().
func Load(p *decode.Loader, target string, in lang.Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	return p.Load(target, in)
}

// Build runs every phase up to, not including, writing the output. Each phase
// runs only when the ones before it had no errors, so that one mistake is not
// reported again as a confusing consequence further down.
func Build(p *decode.Loader, target string, in lang.Inputs, opts ...Option) (*Result, hcl.Diagnostics) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		return nil, diags
	}
	return compile(p, target, bp, diags, o)
}

// compile runs the phases after loading for one appliance: a single-host
// blueprint's, or one host of a fleet.
func compile(p *decode.Loader, target string, bp *spec.Blueprint, diags hcl.Diagnostics, o options) (*Result, hcl.Diagnostics) {
	plans, moreDiags := capacity.Blueprint(bp)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	planJSON, err := capacity.JSON(plans)
	if err != nil {
		return nil, append(diags, internalDiag(err)...)
	}
	compileTree := modules.Compile
	if o.fleetHost {
		compileTree = modules.CompileFleetHost
	}
	tree, moreDiags := compileTree(bp, plans)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	lock, moreDiags := readLock(p, target)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, imagesJSON, moreDiags := pinImages(bp, tree, lock, o)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	host, moreDiags := hostOS(target, bp, lock, o)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, o, moreDiags = onHostOS(tree, host, bp, o)
	if diags = append(diags, moreDiags...); diags.HasErrors() {
		return nil, diags
	}
	res, moreDiags := render(bp, tree, o)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	if diags = append(diags, userData(res, bp, o)...); diags.HasErrors() {
		return nil, diags
	}
	res.Plans, res.Plan, res.Images = plans, planJSON, imagesJSON
	if host != nil {
		res.OS, res.OSFiles, res.OSBuilt = host.Image, host.Files, host.Built
	}
	return res, diags
}

// render finishes the tree and renders it: in image mode the update path
// joins it; then comes the host's own list of what the build made, which
// sovereign-verify.timer checks the host against; then rootfs/, the
// manifest and, once, the Ignition config: the whole appliance, or in image
// mode the image and the config that switches the host to it.
func render(bp *spec.Blueprint, tree *units.Tree, o options) (*Result, hcl.Diagnostics) {
	tree, diags := withUpdatePath(tree, bp, o.image)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, err := tree.WithHostManifest(bp.Appliance.DeclRange)
	if err != nil {
		return nil, append(diags, internalDiag(err)...)
	}
	rootfs, err := tree.Rootfs()
	if err != nil {
		return nil, append(diags, internalDiag(err)...)
	}
	manifest, err := Manifest(tree, rootfs)
	if err != nil {
		return nil, append(diags, internalDiag(err)...)
	}
	res := &Result{Blueprint: bp, Tree: tree, Rootfs: rootfs, Manifest: manifest}
	var out *ignition.Output
	var moreDiags hcl.Diagnostics
	if o.image != nil {
		res.Image, out, moreDiags = buildImage(bp, tree, rootfs, o.image)
	} else {
		out, moreDiags = ignition.Render(tree)
	}
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	res.Ignition, res.Butane = out.Ignition, out.Butane
	return res, diags
}

// Manifest lists every rootfs file of tree with its mode and digest, sorted
// by path, and what each unit file is (its service, image, what it reads
// and needs). A secret file's digest is left empty (see
// output.ManifestEntry); whether a secret changed is told by comparing the
// rootfs files themselves.
func Manifest(tree *units.Tree, rootfs []*units.File) ([]byte, error) {
	records := map[string]output.Unit{}
	for _, u := range tree.Units {
		records[u.Path()] = u.Record()
	}
	entries := make([]output.ManifestEntry, 0, len(rootfs))
	for _, f := range rootfs {
		digest := ""
		if !f.Secret {
			sum := sha256.Sum256(f.Contents)
			digest = hex.EncodeToString(sum[:])
		}
		entries = append(entries, output.ManifestEntry{
			Path:   f.Path,
			Mode:   fmt.Sprintf("%04o", f.Mode),
			SHA256: digest,
			Size:   len(f.Contents),
			Secret: f.Secret,
		})
		if r, ok := records[f.Path]; ok {
			entries[len(entries)-1].Unit = &r
		}
	}
	return output.ManifestJSON(entries)
}

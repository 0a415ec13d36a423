package pipeline

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/modules"
	"github.com/sovereign-collective/sovereign/units"
)

// Option changes what Build produces beyond what the blueprint says.
type Option func(*options)

type options struct {
	bundleLabel string
	image       *ApplianceImage
	ignitionURL string
	// fleetHost: the appliance is one host of a fleet, whose engine keys
	// BuildFleet derived for every host (modules.FleetKeys); its compile
	// derives none.
	fleetHost bool
}

// WithImageBundle makes the build add the first-boot unit that loads the
// offline image bundle (`sovereign bundle`) from the disk whose filesystem
// is labelled label, before any container starts. It is a build option,
// not a blueprint setting, because it says how the images travel to one
// machine, not what the appliance is: the same blueprint provisions a cloud
// host that pulls and a GB300 behind a flaky link that boots from a disk.
func WithImageBundle(label string) Option {
	return func(o *options) { o.bundleLabel = label }
}

// pinImages pins every image of the tree for the host's platform through
// the blueprint's lock file: a build never touches the network. It returns
// out/images.json too.
func pinImages(bp *spec.Blueprint, tree *units.Tree, lock *images.Lock, o options) (*units.Tree, []byte, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	platform := bp.Appliance.Hardware.Platform()
	diags = append(diags, images.Pin(tree, lock, platform)...)
	if diags.HasErrors() {
		return tree, nil, diags
	}
	if o.bundleLabel != "" {
		var moreDiags hcl.Diagnostics
		tree, moreDiags = images.AddLoadUnit(tree, o.bundleLabel, bp.Appliance.DeclRange)
		if diags = append(diags, moreDiags...); diags.HasErrors() {
			return tree, nil, diags
		}
	}
	b, err := images.RecordsJSON(images.Records(tree, lock, platform))
	if err != nil {
		return tree, nil, append(diags, internalDiag(err)...)
	}
	return tree, b, diags
}

// Images runs the pass as far as `sovereign lock` needs: it loads and
// compiles the blueprint, without pinning (the lock may not exist yet), and
// returns every image the appliance runs, the os block's base included,
// each with the place the blueprint names it.
func Images(p *decode.Loader, target string, in lang.Inputs) (*spec.Blueprint, []images.Wanted, hcl.Diagnostics) {
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	// Which images run does not depend on the engines' tuning, so the
	// lock needs no plan (and works for a blueprint that does not fit yet).
	tree, moreDiags := modules.Compile(bp, nil)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	imgs := tree.Images()
	if bp.OS != nil {
		imgs = append(imgs, &units.Image{Ref: bp.OS.Base.Ref, Origin: bp.OS.Base.Range})
	}
	wanted, moreDiags := images.WantedImages(imgs)
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return bp, wanted, diags
}

package pipeline

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/units"
)

// Option changes what Build produces beyond what the blueprint says.
type Option func(*options)

type options struct {
	bundleLabel string
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

// pinImages reads the blueprint's lock file and pins every image of the
// tree for the host's platform (DESIGN §7). It reads only the lock file:
// a build never touches the network.
func pinImages(fsys afero.Fs, target string, bp *spec.Blueprint, tree *units.Tree, opts []Option) (*units.Tree, hcl.Diagnostics) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	lock, _, diags := images.ReadLock(fsys, target)
	if diags.HasErrors() {
		return tree, diags
	}
	diags = append(diags, images.Pin(tree, lock, bp.Appliance.Hardware.Platform())...)
	if diags.HasErrors() || o.bundleLabel == "" {
		return tree, diags
	}
	tree, moreDiags := images.AddLoadUnit(tree, o.bundleLabel, bp.Appliance.DeclRange)
	return tree, append(diags, moreDiags...)
}

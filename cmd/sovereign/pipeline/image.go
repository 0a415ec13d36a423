package pipeline

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/ignition"
	"github.com/sovereign-collective/sovereign/units/update"
)

// The image-mode files of an output tree.
const (
	ImageDir  = "image"      // the appliance image as an OCI layout
	ImageInfo = "image.json" // its reference, digest, base and layer
)

// ImageMode turns a built result into an image-mode one: the update path
// (sovereign-update, the health gate, the optional timer) joins the tree,
// and rootfs and the manifest are computed again. Then build the image from
// res.Tree and res.Rootfs, and call Bootstrap with its digest.
func ImageMode(res *Result, opt update.Options) hcl.Diagnostics {
	at := res.Blueprint.Appliance.DeclRange
	tree, diags := units.Merge(res.Tree, update.Contribution(res.Tree, opt, at))
	if diags.HasErrors() {
		return diags
	}
	rootfs, err := tree.Rootfs()
	if err != nil {
		return internalDiag(err)
	}
	manifest, err := Manifest(rootfs)
	if err != nil {
		return internalDiag(err)
	}
	res.Tree, res.Rootfs, res.Manifest = tree, rootfs, manifest
	return nil
}

// Bootstrap replaces the result's Ignition and Butane configs with the
// image-mode ones, which switch the host to pinned (REPOSITORY@sha256:…).
func Bootstrap(res *Result, pinned string) hcl.Diagnostics {
	tree, err := update.Bootstrap(res.Tree, pinned, res.Blueprint.Appliance.DeclRange)
	if err != nil {
		return internalDiag(err)
	}
	out, diags := ignition.RenderBootstrap(tree)
	if diags.HasErrors() {
		return diags
	}
	res.Ignition, res.Butane = out.Ignition, out.Butane
	return nil
}

func internalDiag(err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error", Detail: fmt.Sprint(err)}}
}

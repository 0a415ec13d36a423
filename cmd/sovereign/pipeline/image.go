package pipeline

import (
	"errors"
	"fmt"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/ignition"
	"github.com/sovereign-collective/sovereign/units/output"
	"github.com/sovereign-collective/sovereign/units/update"
)

// ApplianceImage asks the pass for image mode: the update path joins the
// tree, the tree becomes one layer on the base OS image, and Ignition only
// prepares the host and switches it to that image by digest.
type ApplianceImage struct {
	// Reference is where the image is meant to be pushed: REPOSITORY[:TAG].
	Reference string
	// Timer, when set, is the OnCalendar= schedule at which the host
	// follows Reference's tag.
	Timer string
	// Base is the base OS image's reference, pinned by digest, as the
	// image's labels record it. Empty: the host OS image the lock pins
	// (`sovereign os build`), else stock Fedora CoreOS (appliance.DefaultBase).
	Base string
	// Version is sovereign's version, part of the image's identity.
	Version string
	// FetchBase returns the base ref for the host's platform. The pass
	// itself never talks to a registry: the command line passes a function
	// that does (images/resolve), a test one that returns an image in memory.
	FetchBase func(ref, platform string) (v1.Image, error)
}

// WithApplianceImage makes the build an image-mode build.
func WithApplianceImage(a ApplianceImage) Option {
	return func(o *options) { o.image = &a }
}

// BuiltImage is the appliance image an image-mode build made.
type BuiltImage struct {
	Image v1.Image
	// Info is out/image.json.
	Info *appliance.Info
	// Reference is ApplianceImage.Reference, the layout's tag.
	Reference string
}

// ExternalFailure marks, in a diagnostic's Extra, a failure outside the
// blueprint (the registry that serves the base image could not be read): the
// command line reports it as such rather than as a mistake in the blueprint.
type ExternalFailure struct{ Err error }

func (e *ExternalFailure) Error() string { return e.Err.Error() }
func (e *ExternalFailure) Unwrap() error { return e.Err }

// External returns the failure outside the blueprint among diags, or nil.
func External(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if err, ok := d.Extra.(error); ok {
			var ef *ExternalFailure
			if errors.As(err, &ef) {
				return ef
			}
		}
	}
	return nil
}

// withUpdatePath adds image mode's update path to the tree. It runs before
// the host manifest is made, so that the host checks those files too.
func withUpdatePath(tree *units.Tree, bp *spec.Blueprint, a *ApplianceImage) (*units.Tree, hcl.Diagnostics) {
	if a == nil {
		return tree, nil
	}
	at := bp.Appliance.DeclRange
	return units.Merge(tree, update.Contribution(tree, update.Options{Image: a.Reference, Timer: a.Timer}, at))
}

// buildImage builds the appliance image from the finished tree and renders
// the Ignition config that switches the host to it.
func buildImage(bp *spec.Blueprint, tree *units.Tree, rootfs []*units.File, a *ApplianceImage) (*BuiltImage, *ignition.Output, hcl.Diagnostics) {
	platform := bp.Appliance.Hardware.Platform()
	base, err := a.FetchBase(a.Base, platform)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot fetch the base image",
			Detail:   err.Error() + ".",
			Subject:  bp.Appliance.DeclRange.Ptr(),
			Extra:    &ExternalFailure{Err: err},
		}}
	}
	opt := appliance.Options{
		Appliance: bp.Appliance.Name,
		Hardware:  bp.Appliance.Hardware.Name,
		Version:   a.Version,
		Base:      a.Base,
		Platform:  platform,
	}
	img, err := appliance.Build(base, tree, rootfs, opt)
	if err != nil {
		return nil, nil, externalDiag(fmt.Errorf("building the appliance image: %w", err))
	}
	info, err := appliance.Describe(img, a.Reference, opt)
	if err != nil {
		return nil, nil, externalDiag(fmt.Errorf("building the appliance image: %w", err))
	}
	boot, err := update.Bootstrap(tree, info.Pinned(), bp.Appliance.DeclRange)
	if err != nil {
		return nil, nil, internalDiag(err)
	}
	out, diags := ignition.RenderBootstrap(boot)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return &BuiltImage{Image: img, Info: info, Reference: a.Reference}, out, diags
}

// writeImage writes out/image/ and out/image.json. The base's layers are
// read from wherever FetchBase found them while they are written.
func writeImage(fsys afero.Fs, root string, b *BuiltImage) error {
	if b == nil {
		return nil
	}
	if err := appliance.WriteLayout(fsys, filepath.Join(root, output.ImageDir), b.Image, b.Reference); err != nil {
		return fmt.Errorf("writing the image layout: %w", err)
	}
	infoJSON, err := b.Info.JSON()
	if err != nil {
		return err
	}
	return writeFile(fsys, filepath.Join(root, output.ImageInfo), infoJSON, 0o644)
}

// externalDiag is a failure outside the blueprint: building the image reads
// the base's layers, which may come from a registry.
func externalDiag(err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot build the appliance image", Detail: err.Error() + ".", Extra: &ExternalFailure{Err: err}}}
}

func internalDiag(err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Internal error", Detail: fmt.Sprint(err)}}
}

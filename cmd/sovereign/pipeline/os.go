package pipeline

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/modules/hostos"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

// HostOS is the host OS image of a blueprint: what to build and, once
// `sovereign os build` built and pinned it, where it is.
type HostOS struct {
	Image *hostos.Image
	// Files are its build context, out/os/.
	Files      []hostos.File
	Provenance images.OSProvenance
	// Built is the lock's entry for the image, when it was built from
	// exactly this context; nil before the first `sovereign os build`.
	Built *images.OSEntry
}

// OSImage loads the blueprint at target and renders its host OS image,
// for `sovereign os build`: unlike Build it takes a lock whose os entry is
// stale, which is what building again fixes. It returns the lock too, to
// record the new image in.
func OSImage(p *decode.Loader, target string, in lang.Inputs, opts ...Option) (*HostOS, *images.Lock, hcl.Diagnostics) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	if bp.OS == nil {
		return nil, nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No os block",
			Detail:  "The blueprint declares no host OS image. Add an os block (its base image and NVIDIA driver) to build one.",
			Subject: bp.Appliance.DeclRange.Ptr()})
	}
	lock, moreDiags := readLock(p, target)
	if diags = append(diags, moreDiags...); diags.HasErrors() {
		return nil, nil, diags
	}
	host, moreDiags := renderOS(bp, lock, o)
	return host, lock, append(diags, moreDiags...)
}

// hostOS renders the host OS image and checks the lock's os entry against
// it: an entry built from anything else is an error, like a stale image
// pin, and none at all a warning. A blueprint without an os block has none.
func hostOS(target string, bp *spec.Blueprint, lock *images.Lock, o options) (*HostOS, hcl.Diagnostics) {
	if bp.OS == nil {
		return nil, nil
	}
	host, diags := renderOS(bp, lock, o)
	if diags.HasErrors() {
		return nil, diags
	}
	built := lock.OS
	if built == nil {
		return host, append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Host OS image not built yet",
			Detail: fmt.Sprintf("The output's %s/ folder holds the Containerfile of the host OS image (the NVIDIA driver, the container toolkit and the packages the blocks need), but %s pins no image built from it, so the host keeps its stock base, on which the engines find no GPU. Build, push and pin it once per driver and package set with `sovereign os build %s --push REGISTRY/REPOSITORY:TAG`, then build again.",
				output.OSDir, lock.Path, target),
			Subject: bp.OS.DeclRange.Ptr()})
	}
	if d := built.Differences(host.Provenance); len(d) > 0 {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Host OS image out of date",
			Detail: fmt.Sprintf("%s pins the host OS image %s (at %s), built from another os block than this one: %s. Run `sovereign os build %s --push %s` to build, push and pin it again, and commit the lock file.",
				lock.Path, built.Pinned(), built.DeclRange, strings.Join(d, "; "), target, built.Ref),
			Subject: bp.OS.DeclRange.Ptr()})
	}
	host.Built = built
	return host, diags
}

// onHostOS puts the appliance on the OS image the lock pins: an image-mode
// appliance image is built on it (unless a base was asked for), and a host
// provisioned by Ignition gets the first-boot unit that rebases it onto the
// image. Without a built image, image mode takes stock Fedora CoreOS.
func onHostOS(tree *units.Tree, host *HostOS, bp *spec.Blueprint, o options) (*units.Tree, options, hcl.Diagnostics) {
	var built *images.OSEntry
	if host != nil {
		built = host.Built
	}
	if o.image != nil {
		a := *o.image
		switch {
		case a.Base != "":
		case built != nil:
			a.Base = built.Pinned()
		default:
			a.Base = appliance.DefaultBase
		}
		o.image = &a
		return tree, o, nil
	}
	if built == nil {
		return tree, o, nil
	}
	tree, diags := units.Merge(tree, hostos.Rebase(built.Pinned(), tree, bp.OS.DeclRange))
	return tree, o, diags
}

// renderOS pins the os block's base through the lock and renders the image.
func renderOS(bp *spec.Blueprint, lock *images.Lock, o options) (*HostOS, hcl.Diagnostics) {
	platform := bp.Appliance.Hardware.Platform()
	base, diags := images.PinBase(&units.Image{Ref: bp.OS.Base.Ref, Origin: bp.OS.Base.Range}, lock, platform)
	if diags.HasErrors() {
		return nil, diags
	}
	img := hostos.Describe(bp, base, hostos.Options{ImageBundle: o.bundleLabel != ""})
	files, err := hostos.Render(img)
	if err != nil {
		return nil, internalDiag(err)
	}
	return &HostOS{Image: img, Files: files, Provenance: provenance(img, files)}, nil
}

// provenance is what the image is built from, as the lock file's os entry
// records it: when any of it changes, an image built before is stale.
func provenance(img *hostos.Image, files []hostos.File) images.OSProvenance {
	return images.OSProvenance{
		Platform:        img.Platform,
		Base:            img.Base,
		Driver:          strings.TrimSpace(img.Driver + " " + img.DriverFlavour),
		Packages:        img.PackageNames(),
		KernelArguments: slices.Clone(img.KernelArgs),
		Context:         hostos.ContextDigest(files),
	}
}

// readLock reads the blueprint's lock file once for every phase that pins.
func readLock(p *decode.Loader, target string) (*images.Lock, hcl.Diagnostics) {
	lock, lockFile, diags := images.ReadLock(p.Fs(), target)
	p.AddFile(lockFile) // so that errors in it print with their line
	return lock, diags
}

// writeOS writes out/os/.
func writeOS(fsys afero.Fs, root string, files []hostos.File) error {
	if len(files) == 0 {
		return nil
	}
	dir := filepath.Join(root, output.OSDir)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFile(fsys, filepath.Join(dir, f.Name), f.Contents, fs.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	return nil
}

// OSContainerfile is the Containerfile's name in the OS build context.
const OSContainerfile = hostos.ContainerfileName

package pipeline

import (
	"io/fs"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/modules/hostos"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

// hostOS pins the os block's base through the lock file and renders the
// host OS image. A blueprint without an os block has none.
func hostOS(p *blueprints.Parser, target string, bp *spec.Blueprint, o options) (*hostos.Image, []hostos.File, hcl.Diagnostics) {
	if bp.OS == nil {
		return nil, nil, nil
	}
	lock, lockFile, diags := images.ReadLock(p.Fs(), target)
	p.AddFile(lockFile)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	platform := bp.Appliance.Hardware.Platform()
	base, diags := images.PinBase(&units.Image{Ref: bp.OS.Base.Ref, Origin: bp.OS.Base.Range}, lock, platform)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	img := hostos.Describe(bp, base, hostos.Options{ImageBundle: o.bundleLabel != ""})
	files, err := hostos.Render(img)
	if err != nil {
		return nil, nil, internalDiag(err)
	}
	return img, files, nil
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

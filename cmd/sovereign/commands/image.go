package commands

import (
	"fmt"
	"path/filepath"
	"runtime/debug"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/units/update"
)

// buildExtras are build's flags beyond the blueprint: image mode and the
// diff against a previous output.
type buildExtras struct {
	image       string
	base        string
	push        bool
	timer       string
	diffAgainst string
	jsonDiff    bool

	pushImage func() error // set by imageMode
}

func addBuildExtras(cmd *cobra.Command, f *buildExtras) {
	cmd.Flags().StringVar(&f.image, "image", "", "image mode: build the appliance OCI image for REPOSITORY[:TAG] (out/image/, out/image.json) and an Ignition config that switches the host to it")
	cmd.Flags().StringVar(&f.base, "base", appliance.DefaultBase, "with --image: the base OS image, pinned by digest (REPOSITORY[:TAG]@sha256:…)")
	cmd.Flags().BoolVar(&f.push, "push", false, "with --image: push the image to REPOSITORY[:TAG] after writing the output")
	cmd.Flags().StringVar(&f.timer, "update-timer", "", "with --image: enable sovereign-update.timer, which follows the tag at this OnCalendar= schedule (e.g. daily)")
	cmd.Flags().StringVar(&f.diffAgainst, "diff-against", "", "after building, print what changed since the output in DIR (as sovereign diff DIR OUT)")
	cmd.Flags().BoolVar(&f.jsonDiff, "json", false, "with --diff-against: print the diff as JSON")
}

// check validates the flags before anything is built.
func (f *buildExtras) check() error {
	if f.image == "" {
		switch {
		case f.push:
			return usageErrorf("--push needs --image REPOSITORY[:TAG]")
		case f.timer != "":
			return usageErrorf("--update-timer needs --image REPOSITORY[:TAG]")
		}
	} else {
		ref, err := name.ParseReference(f.image)
		if err != nil {
			return usageErrorf("--image %q: %s", f.image, err)
		}
		if _, ok := ref.(name.Digest); ok {
			return usageErrorf("--image %q names a digest; give the REPOSITORY[:TAG] to build for (the digest is the build's result)", f.image)
		}
		if _, err := name.NewDigest(f.base); err != nil {
			return usageErrorf("--base %q must be pinned as REPOSITORY[:TAG]@sha256:DIGEST", f.base)
		}
	}
	if f.jsonDiff && f.diffAgainst == "" {
		return usageErrorf("--json needs --diff-against DIR")
	}
	return nil
}

// imageMode turns res into an image-mode build: the update path joins the
// tree, the image is built on the base for the host's platform, and the
// Ignition config becomes the one that switches to it. The image is written
// with the output (out/image/, out/image.json).
func (f *buildExtras) imageMode(e *env, res *pipeline.Result, files map[string]*hcl.File) (*appliance.Info, error) {
	if f.image == "" {
		return nil, nil
	}
	if diags := pipeline.ImageMode(res, update.Options{Image: f.image, Timer: f.timer}); diags.HasErrors() {
		return nil, e.printDiagnostics(diags, files)
	}
	platform := res.Blueprint.Appliance.Hardware.Platform()
	base, err := appliance.FetchBase(e.ctx, f.base, platform)
	if err != nil {
		return nil, externalError(err)
	}
	opt := appliance.Options{
		Appliance: res.Blueprint.Appliance.Name,
		Hardware:  res.Blueprint.Appliance.Hardware.Name,
		Version:   version(),
		Base:      f.base,
		Platform:  platform,
	}
	img, err := appliance.Build(base, res.Tree, res.Rootfs, opt)
	if err != nil {
		return nil, externalError(fmt.Errorf("building the appliance image: %w", err))
	}
	info, err := appliance.Describe(img, f.image, opt)
	if err != nil {
		return nil, externalError(fmt.Errorf("building the appliance image: %w", err))
	}
	if diags := pipeline.Bootstrap(res, info.Pinned()); diags.HasErrors() {
		return nil, e.printDiagnostics(diags, files)
	}
	infoJSON, err := info.JSON()
	if err != nil {
		return nil, err
	}
	res.WriteExtra = func(fsys afero.Fs, dir string) error {
		if err := appliance.WriteLayout(fsys, filepath.Join(dir, pipeline.ImageDir), img, f.image); err != nil {
			return fmt.Errorf("writing the image layout: %w", err)
		}
		return afero.WriteFile(fsys, filepath.Join(dir, pipeline.ImageInfo), infoJSON, 0o644)
	}
	f.pushImage = func() error {
		d, err := appliance.Push(e.ctx, img, f.image)
		if err != nil {
			return externalError(err)
		}
		fmt.Fprintf(e.stdout, "Pushed %s\n", d)
		return nil
	}
	return info, nil
}

// after runs once the output is written: report the image, push it, print
// the diff.
func (f *buildExtras) after(e *env, outDir string, info *appliance.Info) error {
	if info != nil {
		fmt.Fprintf(e.stdout, "Appliance image %s (%s on %s, appliance layer %d bytes) in %s.\n",
			info.Pinned(), info.Platform, f.base, info.Layer.Size, filepath.Join(filepath.Clean(outDir), pipeline.ImageDir))
		if f.push {
			if err := f.pushImage(); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(e.stdout, "Push it with --push before provisioning: ignition.json switches the host to it.\n")
		}
	}
	if f.diffAgainst == "" {
		return nil
	}
	r, err := diff.Dirs(e.fs, f.diffAgainst, outDir)
	if err != nil {
		return externalError(err)
	}
	return printDiff(e, r, f.jsonDiff)
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

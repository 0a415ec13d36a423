package commands

import (
	"fmt"
	"path/filepath"
	"runtime/debug"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/images/resolve"
	"github.com/sovereign-collective/sovereign/units/output"
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
	ignitionURL string
}

func addBuildExtras(cmd *cobra.Command, f *buildExtras) {
	cmd.Flags().StringVar(&f.image, "image", "", "image mode: build the appliance OCI image for REPOSITORY[:TAG] (out/image/, out/image.json) and an Ignition config that switches the host to it")
	cmd.Flags().StringVar(&f.base, "base", "", "with --image: the base OS image, pinned by digest (REPOSITORY[:TAG]@sha256:…); by default the host OS image the lock pins (sovereign os build), else stock Fedora CoreOS "+appliance.DefaultBase)
	cmd.Flags().BoolVar(&f.push, "push", false, "with --image: push the image to REPOSITORY[:TAG] after writing the output")
	cmd.Flags().StringVar(&f.timer, "update-timer", "", "with --image: enable sovereign-update.timer, which follows the tag at this OnCalendar= schedule (e.g. daily)")
	cmd.Flags().StringVar(&f.diffAgainst, "diff-against", "", "after building, print what changed since the output in DIR (as sovereign diff DIR OUT)")
	cmd.Flags().BoolVar(&f.jsonDiff, "json", false, "with --diff-against: print the diff as JSON")
	cmd.Flags().StringVar(&f.ignitionURL, "ignition-url", "", "also write pointer.ign, user-data that fetches ignition.json from this https://, s3:// or gs:// URL and checks its SHA-512 (for a cloud whose user-data limit ignition.json is over)")
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
		if _, err := name.NewDigest(f.base); f.base != "" && err != nil {
			return usageErrorf("--base %q must be pinned as REPOSITORY[:TAG]@sha256:DIGEST", f.base)
		}
	}
	if f.ignitionURL != "" {
		if err := pipeline.CheckIgnitionURL(f.ignitionURL); err != nil {
			return usageErrorf("--ignition-url %v", err)
		}
	}
	if f.jsonDiff && f.diffAgainst == "" {
		return usageErrorf("--json needs --diff-against DIR")
	}
	return nil
}

// options are the pipeline options these flags ask for: in image mode the
// pass builds the appliance image on the base it fetches through
// images/resolve for the host's platform.
func (f *buildExtras) options(e *env) []pipeline.Option {
	var opts []pipeline.Option
	if f.ignitionURL != "" {
		opts = append(opts, pipeline.WithIgnitionURL(f.ignitionURL))
	}
	if f.image == "" {
		return opts
	}
	return append(opts, pipeline.WithApplianceImage(pipeline.ApplianceImage{
		Reference: f.image,
		Timer:     f.timer,
		Base:      f.base,
		Version:   version(),
		FetchBase: func(ref, platform string) (v1.Image, error) {
			return resolve.FetchBase(e.ctx, ref, platform)
		},
	}))
}

// after runs once the output is written: report the image, push it, print
// the diff.
func (f *buildExtras) after(e *env, outDir string, img *pipeline.BuiltImage) error {
	if img != nil {
		info := img.Info
		fmt.Fprintf(e.stdout, "Appliance image %s (%s on %s, appliance layer %d bytes) in %s.\n",
			info.Pinned(), info.Platform, info.Base, info.Layer.Size, filepath.Join(filepath.Clean(outDir), output.ImageDir))
		if f.push {
			d, err := resolve.Push(e.ctx, img.Image, f.image)
			if err != nil {
				return externalError(err)
			}
			fmt.Fprintf(e.stdout, "Pushed %s\n", d)
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

package commands

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/resolve"
)

func newBundle(e *env) *cobra.Command {
	var in inputFlags
	var rf registryFlags
	var outDir string
	cmd := &cobra.Command{
		Use:   "bundle BLUEPRINT -o DIR",
		Short: "Write every pinned image of the blueprint to an offline bundle (needs the registry)",
		Long: `Bundle fetches every image the blueprint runs, exactly as the lock pins it
and only for the host's platform, into DIR as an OCI image layout
(index.json, oci-layout, blobs/), to carry to the appliance on a disk so
that first boot needs no internet.

Give the disk's filesystem a label and build with --image-bundle LABEL: the
appliance then mounts the disk at first boot and loads every image into
Podman's storage before any container starts. Multi-platform images keep
their index, so they keep the digest the units run them by.

Blobs already in DIR are kept, so an interrupted bundle resumes; index.json
is written last. Exit codes: 0 ok, 1 the blueprint or its lock is wrong,
2 usage, 3 the registry or the disk failed.`,
		Example: "  sovereign bundle blueprints/dgx-station-gb300.hcl -o /run/media/$USER/SOVEREIGN\n  sovereign build blueprints/dgx-station-gb300.hcl -o out --image-bundle SOVEREIGN",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return usageErrorf("bundle needs -o DIR, the folder (or disk) to write the images to")
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			r, prog, err := rf.resolver(e)
			if err != nil {
				return err
			}
			// The bundle holds exactly what a build pins: build first,
			// offline, from the lock.
			res, files, err := e.build(args[0], inputs)
			if err != nil {
				return err
			}
			platform := res.Blueprint.Appliance.Hardware.Platform()
			bundled, unpinned, err := images.BundleImages(res.Tree)
			if err != nil {
				return err
			}
			for _, ref := range unpinned {
				fmt.Fprintf(e.stderr, "Warning: %s is UNPINNED and is not bundled; the appliance pulls it at first boot.\n", ref)
			}
			pins := make([]resolve.Pin, 0, len(bundled))
			for _, b := range bundled {
				pins = append(pins, resolve.Pin{Ref: b.Ref, Digest: b.Ref.Digest})
			}
			fmt.Fprintf(e.stderr, "Fetching %d image(s) for %s into %s...\n", len(pins), platform, filepath.Clean(outDir))
			prog.run()
			err = r.Bundle(e.ctx, e.fs, outDir, pins, platform)
			prog.stop()
			if err != nil {
				return e.resolveFailed(err, bundled, files, "the bundle is incomplete (no index.json); run it again to resume")
			}
			fmt.Fprintf(e.stdout, "Bundled %d image(s) for %s into %s.\n", len(pins), platform, filepath.Clean(outDir))
			fmt.Fprintf(e.stdout, "Label the disk's filesystem (e.g. SOVEREIGN) and build with --image-bundle SOVEREIGN to load it at first boot.\n")
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "folder to write the OCI image layout to")
	addRegistryFlags(cmd, &rf)
	addInputFlags(cmd, &in)
	return cmd
}

// imageBundleFlag is build's --image-bundle LABEL.
func addImageBundleFlag(cmd *cobra.Command, label *string) {
	cmd.Flags().StringVar(label, "image-bundle", "", "add the first-boot unit that loads the offline image bundle (sovereign bundle) from the disk with this filesystem label")
}

// imageBundleOptions turns --image-bundle into build options.
func imageBundleOptions(label string) ([]pipeline.Option, error) {
	if label == "" {
		return nil, nil
	}
	if err := images.CheckBundleLabel(label); err != nil {
		return nil, usageErrorf("--image-bundle: %v", err)
	}
	return []pipeline.Option{pipeline.WithImageBundle(label)}, nil
}

package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/buildah"
)

func newOS(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "os",
		Short: "Build the host OS image the blueprint's os block describes",
	}
	cmd.AddCommand(newOSBuild(e))
	return cmd
}

func newOSBuild(e *env) *cobra.Command {
	var in inputFlags
	var push, isolation string
	var bundleLabel string
	cmd := &cobra.Command{
		Use:   "build BLUEPRINT --push REGISTRY/REPOSITORY:TAG",
		Short: "Build the host OS image with buildah, push it and pin it in the lock file",
		Long: `os build builds the host OS image of the blueprint's os block — its pinned
base, the NVIDIA driver built for the image's own kernel, the container
toolkit and the packages the blocks need — with buildah, for the platform of
the blueprint's host, pushes it to REGISTRY/REPOSITORY:TAG and records its
digest in the lock file's os entry with what it was built from (base digest,
driver, packages, kernel arguments, the build context's digest) and with.

Build then stays offline and pinned: it provisions the host onto this image
by digest, and fails while the os block asks for anything else than the
image was built from, naming this command as the fix. Build the image once
per driver and package set, not per appliance change.

The build context is the one build writes to out/os/. buildah's own output
is shown as it runs; the image install downloads the driver from NVIDIA's
repositories, so it needs the internet and takes a while. An arm64 image
built on an amd64 machine runs its steps under qemu-user (qemu-user-static).
Credentials are buildah's (buildah login REGISTRY).

Exit codes: 0 ok, 1 the blueprint or its lock is wrong, 2 usage, 3 buildah
is missing or the build or the push failed. The lock file is written only
after the push succeeded.`,
		Example: "  sovereign os build blueprints/dgx-station-gb300.hcl --push registry.example.org/coop/gb300-os:580\n  sovereign os build ./coop --push registry.example.org/coop/os:580 --isolation chroot",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if push == "" {
				return usageErrorf("os build needs --push REGISTRY/REPOSITORY:TAG, where the host pulls its OS image from")
			}
			ref, err := images.ParseRef(push)
			if err != nil || ref.Digest != "" {
				return usageErrorf("--push %q must be REGISTRY/REPOSITORY:TAG (the digest is what the build records)", push)
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			opts, err := imageBundleOptions(bundleLabel)
			if err != nil {
				return err
			}
			return e.osBuild(args[0], inputs, ref, isolation, opts)
		},
	}
	cmd.Flags().StringVar(&push, "push", "", "push the image to REGISTRY/REPOSITORY:TAG and pin it in the lock file")
	cmd.Flags().StringVar(&isolation, "isolation", "", "buildah's --isolation (chroot where the build runs inside a container or without delegated cgroups)")
	addImageBundleFlag(cmd, &bundleLabel)
	addInputFlags(cmd, &in)
	return cmd
}

// osBuild renders the build context, builds it with buildah, pushes it and
// records the image in the lock.
func (e *env) osBuild(target string, in lang.Inputs, ref images.Ref, isolation string, opts []pipeline.Option) error {
	p := pipeline.NewLoader(e.fs)
	host, lock, diags := pipeline.OSImage(p, target, in, opts...)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return err
	}
	b, err := buildah.Find(e.environ)
	if errors.Is(err, buildah.ErrNotFound) {
		return externalError(fmt.Errorf("os build runs buildah, and there is none on the PATH: install it (apt-get install buildah, or dnf install buildah) and run this again; nothing was written"))
	}
	b.Isolation, b.Log = isolation, e.stderr
	version, err := b.Version(e.ctx)
	if err != nil {
		return externalError(err)
	}
	dir, err := os.MkdirTemp("", "sovereign-os-")
	if err != nil {
		return externalError(err)
	}
	defer os.RemoveAll(dir)
	for _, f := range host.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Contents, os.FileMode(f.Mode)); err != nil {
			return externalError(fmt.Errorf("writing the build context: %w", err))
		}
	}
	img := host.Image
	local := "localhost/sovereign-os-build:" + strings.TrimPrefix(host.Provenance.Context, "sha256:")[:16]
	fmt.Fprintf(e.stderr, "Building the host OS image of %q for %s with %s (FROM %s)...\n", img.Appliance, img.Platform, version, img.Base)
	if arch := img.Platform[strings.LastIndex(img.Platform, "/")+1:]; arch != runtime.GOARCH {
		fmt.Fprintf(e.stderr, "This machine is %s/%s: buildah runs the %s steps under qemu-user, which needs qemu-user-static (binfmt_misc).\n", runtime.GOOS, runtime.GOARCH, arch)
	}
	if err := b.Build(e.ctx, dir, pipeline.OSContainerfile, img.Platform, local); err != nil {
		return externalError(fmt.Errorf("building the host OS image failed; the lock file was not changed: %w", err))
	}
	defer func() {
		if err := b.Remove(e.ctx, local); err != nil {
			fmt.Fprintf(e.stderr, "Warning: could not remove %s from buildah's storage: %v\n", local, err)
		}
	}()
	fmt.Fprintf(e.stderr, "Pushing to %s...\n", ref.Key())
	digest, err := b.Push(e.ctx, local, "docker://"+ref.Key())
	if err != nil {
		return externalError(fmt.Errorf("pushing the host OS image to %s failed (is the registry reachable, and are you logged in with `buildah login %s`?); the lock file was not changed: %w", ref.Key(), registryOf(ref), err))
	}
	lock.OS = &images.OSEntry{Ref: ref.Key(), Digest: digest, Builder: version, OSProvenance: host.Provenance}
	if err := writeFileAtomic(e.fs, lock.Path, lock.Bytes()); err != nil {
		return externalError(fmt.Errorf("the image is pushed as %s, but writing %s failed: %w", lock.OS.Pinned(), lock.Path, err))
	}
	fmt.Fprintf(e.stdout, "Built and pushed the host OS image %s for %s (%d package(s)).\nPinned it in %s: build now provisions the host onto it.\n",
		lock.OS.Pinned(), img.Platform, len(host.Provenance.Packages), lock.Path)
	return nil
}

func registryOf(ref images.Ref) string {
	r, _, _ := strings.Cut(ref.Repository, "/")
	return r
}

package commands

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
)

// inputFlags are the flags that set blueprint variables.
type inputFlags struct {
	vars     []string
	varFiles []string
}

func addInputFlags(cmd *cobra.Command, f *inputFlags) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a variable: --var NAME=VALUE (repeatable)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read variables from an HCL file of NAME = VALUE lines (repeatable)")
}

func (f *inputFlags) inputs(environ []string) (lang.Inputs, error) {
	in := lang.Inputs{VarFiles: f.varFiles, Env: environ}
	for _, kv := range f.vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return in, usageErrorf("--var %q must be NAME=VALUE", kv)
		}
		in.Vars = append(in.Vars, lang.VarSetting{Name: name, Value: value})
	}
	return in, nil
}

func newBuild(e *env) *cobra.Command {
	var in inputFlags
	var outDir string
	var extras buildExtras
	var bundleLabel string
	cmd := &cobra.Command{
		Use:   "build BLUEPRINT -o DIR",
		Short: "Compile a blueprint into an Ignition config, units and a root filesystem",
		Long: `Build compiles the blueprint and writes the appliance to DIR:

  ignition.json   the Ignition config (spec 3.5) that provisions the host;
                  mode 0600, it carries the secrets
  config.bu       the same config as Butane YAML for people to read and diff;
                  its file contents are local files under rootfs/, so it
                  carries no secrets
  rootfs/         every file the appliance gets, at its final path and mode
  manifest.json   path, mode, sha256, size and secret flag of every rootfs file
  images.json     every container image, what each unit runs and how it is
                  pinned (by the lock file beside the blueprint, or inline)

Build never uses the network and is deterministic: the same blueprint and
inputs give byte-identical output. DIR is replaced as a whole only when the
build succeeds; a failed build leaves the previous output untouched.

Provision a machine with:
  coreos-installer install /dev/nvme0n1 --ignition-file DIR/ignition.json

Image mode (--image REPOSITORY[:TAG]) also builds the appliance OCI image —
the pinned base OS plus one layer holding rootfs/ without its secrets — into
DIR/image (an OCI layout) and DIR/image.json; it fetches the base image, so
it needs the registry. ignition.json then only prepares the host (admins,
storage, secrets) and switches it to the image by digest: push the image
(--push) before provisioning. Updates are a new image, sovereign-update on
the host and a reboot, rolled back when the engines are not healthy in time.`,
		Example: "  sovereign build blueprints/dgx-station-gb300.hcl -o out\n  sovereign build ./coop -o out -var domain=ai.example.org",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return usageErrorf("build needs -o DIR, the folder to write the appliance to")
			}
			if err := extras.check(); err != nil {
				return err
			}
			if err := e.checkBuildPaths(outDir, extras.diffAgainst); err != nil {
				return err
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			if pipeline.IsFleet(e.fs, args[0]) {
				return e.buildFleet(args[0], inputs, outDir, extras, bundleLabel)
			}
			opts, err := imageBundleOptions(bundleLabel)
			if err != nil {
				return err
			}
			res, _, err := e.build(args[0], inputs, append(opts, extras.options(e)...)...)
			if err != nil {
				return err
			}
			if err := pipeline.Write(e.fs, outDir, res); err != nil {
				return externalError(fmt.Errorf("writing %s: %w", outDir, err))
			}
			app := res.Blueprint.Appliance
			fmt.Fprintf(e.stdout, "Built appliance %q (%s, %s) into %s: %d files in rootfs/, %d engine(s), %d unit(s).\n",
				app.Name, app.Hardware.Name, app.Hardware.Platform(), filepath.Clean(outDir), len(res.Rootfs), len(res.Blueprint.Engines), len(res.Tree.Units))
			return extras.after(e, outDir, res.Image)
		},
	}
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "folder to write the appliance to (replaced only on success)")
	addBuildExtras(cmd, &extras)
	addImageBundleFlag(cmd, &bundleLabel)
	addInputFlags(cmd, &in)
	return cmd
}

// build runs the pass over the blueprint at target, prints its
// diagnostics, and returns the result with the blueprint's files, for
// diagnostics printed later.
func (e *env) build(target string, in lang.Inputs, opts ...pipeline.Option) (*pipeline.Result, map[string]*hcl.File, error) {
	p := pipeline.NewLoader(e.fs)
	res, diags := pipeline.Build(p, target, in, opts...)
	if err := e.printBuildDiagnostics(diags, p.Files()); err != nil {
		return nil, nil, err
	}
	return res, p.Files(), nil
}

// checkBuildPaths refuses, before anything is built or written, an output
// that is a file and a --diff-against folder that is not there: both are
// mistakes on the command line (exit 2), not failures of the disk.
func (e *env) checkBuildPaths(outDir, diffAgainst string) error {
	if info, err := e.fs.Stat(outDir); err == nil && !info.IsDir() {
		return usageErrorf("-o %s is a file; build writes a folder (and replaces it as a whole), so give a folder's path", outDir)
	}
	if diffAgainst == "" {
		return nil
	}
	info, err := e.fs.Stat(diffAgainst)
	switch {
	case err != nil:
		return usageErrorf("--diff-against %s: there is no such folder; give the output folder of an earlier build", diffAgainst)
	case !info.IsDir():
		return usageErrorf("--diff-against %s is a file; give the output folder of an earlier build", diffAgainst)
	}
	return nil
}

func newValidate(e *env) *cobra.Command {
	var in inputFlags
	cmd := &cobra.Command{
		Use:   "validate BLUEPRINT",
		Short: "Check a blueprint completely without writing anything",
		Long: `Validate runs every check build does — the blueprint's syntax and values,
the modules, image pins and the Ignition config — and prints every problem
with its file, line and column. It writes nothing.`,
		Args: exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			if pipeline.IsFleet(e.fs, args[0]) {
				return e.validateFleet(args[0], inputs)
			}
			res, _, err := e.build(args[0], inputs)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "The blueprint is valid: appliance %q, %d engine(s), %d files.\n",
				res.Blueprint.Appliance.Name, len(res.Blueprint.Engines), len(res.Rootfs))
			return nil
		},
	}
	addInputFlags(cmd, &in)
	return cmd
}

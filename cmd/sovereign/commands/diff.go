package commands

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/afero"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
)

func newDiff(e *env) *cobra.Command {
	var asJSON bool
	var in inputFlags
	var fleetHost string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what an update changes between two build outputs",
		Long: `Diff compares two output folders of sovereign build — the appliance as it
runs and as it would be after the update — and prints:

  the appliance image, old → new (image mode)
  container images whose digest changed
  services that start, stop or restart, and why: their unit changed, a
    file they name or mount changed, or a unit they require restarts
  admins added or removed (Ignition creates them only at first boot)
  capacity plan figures that changed: sessions, KV budget, memory
  files added, removed or changed, with a unified diff for text

Secret files are compared by their contents and shown only as changed:
no contents, digest or size of a secret is printed. With --json the same
report is printed as JSON.

OLD or NEW may also be a blueprint (a folder without manifest.json, or a
.hcl file): it is built in memory, with --var and --var-file, and compared
as it would be written. Nothing is written. For a fleet, compare one
host's folders (out/HOST), or give --fleet-host HOST with a fleet blueprint.`,
		Example: "  sovereign build coop -o out.new\n  sovereign diff out out.new\n  sovereign diff out coop\n  sovereign diff out/annex fleet.hcl --fleet-host annex",
		Args:    exactArgs(2, "OLD and NEW output folders (or blueprints)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			var fss [2]afero.Fs
			var dirs [2]string
			for i, arg := range args {
				if fss[i], dirs[i], err = diffSide(e, arg, inputs, fleetHost); err != nil {
					return err
				}
			}
			r, err := diff.Compare(fss[0], dirs[0], fss[1], dirs[1])
			if err != nil {
				return &exitError{ExitInvalid, err}
			}
			r.Old, r.New = filepath.Clean(args[0]), filepath.Clean(args[1])
			return printDiff(e, r, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&fleetHost, fleetHostFlag, "", "when a side is a fleet blueprint: the host of the fleet to build")
	addInputFlags(cmd, &in)
	return cmd
}

// diffSide is an output folder as it is, or a blueprint built in memory
// (Ignition-only: no image is built, so no appliance digest is compared).
func diffSide(e *env, arg string, inputs lang.Inputs, fleetHost string) (afero.Fs, string, error) {
	if diff.IsOutput(e.fs, arg) {
		return e.fs, arg, nil
	}
	res, err := e.buildOne(arg, inputs, fleetHost)
	if err != nil {
		return nil, "", err
	}
	mem := afero.NewMemMapFs()
	if err := pipeline.Write(mem, "/out", res); err != nil {
		return nil, "", err
	}
	return mem, "/out", nil
}

func printDiff(e *env, r *diff.Report, asJSON bool) error {
	if !asJSON {
		return r.Text(e.stdout)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

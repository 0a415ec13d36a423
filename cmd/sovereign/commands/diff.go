package commands

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
)

func newDiff(e *env) *cobra.Command {
	var asJSON bool
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
report is printed as JSON.`,
		Example: "  sovereign build coop -o out.new\n  sovereign diff out out.new",
		Args:    exactArgs(2, "OLD and NEW output folders"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := diff.Dirs(e.fs, args[0], args[1])
			if err != nil {
				return &exitError{ExitInvalid, err}
			}
			return printDiff(e, r, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
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

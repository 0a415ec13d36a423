package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/remote"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/verify"
)

// hostFlags say how to reach an appliance.
type hostFlags struct {
	target string
	ssh    string
	root   string
}

func addHostFlags(cmd *cobra.Command, f *hostFlags) {
	cmd.Flags().StringVar(&f.target, "host", "", "the appliance, as ssh takes it: ADMIN@HOST or an ssh_config alias (required)")
	cmd.Flags().StringVarP(&f.ssh, "ssh", "e", "ssh", "the ssh command and its options, e.g. \"ssh -p 2222 -i ~/.ssh/coop\"")
	cmd.Flags().StringVar(&f.root, "host-root", "/", "the folder that stands for the host's / (for tests and hosts mounted elsewhere)")
	_ = cmd.Flags().MarkHidden("host-root")
}

func (f *hostFlags) host() (remote.Host, error) {
	if f.target == "" {
		return remote.Host{}, usageErrorf("--host ADMIN@HOST is required: the appliance to reach over ssh")
	}
	if strings.HasPrefix(f.target, "-") {
		return remote.Host{}, usageErrorf("--host %q is not a host", f.target)
	}
	ssh := strings.Fields(f.ssh)
	if len(ssh) == 0 {
		return remote.Host{}, usageErrorf("--ssh is empty")
	}
	return remote.Host{Target: f.target, SSH: ssh, Root: f.root}, nil
}

func newVerify(e *env) *cobra.Command {
	var in inputFlags
	var hf hostFlags
	var asJSON bool
	var fleetHost string
	cmd := &cobra.Command{
		Use:   "verify BLUEPRINT --host ADMIN@HOST",
		Short: "Check that a running appliance still runs what the blueprint builds",
		Long: `Verify builds the blueprint in memory (offline, as build does) and compares it
with what the host reports over ssh:

  - every file the build makes is there with its mode and SHA-256 (secrets
    are compared by digest and never shown);
  - no file in sovereign's own folders (/etc/sovereign,
    /usr/local/libexec/sovereign, /etc/containers/systemd) that the build
    does not make;
  - every unit loaded, none failed, containers and daemons running, units
    enabled at boot that should be;
  - every container created from the image the lock pins.

It uses the system's ssh with your keys, ssh_config and known_hosts, and
runs a read-only probe as root (sudo -n for another user). Exit 0: the host
matches; 1: it drifted (each difference is listed); 3: the host could not be
reached.`,
		Example: "  sovereign verify blueprints/dgx-station-gb300.hcl --host admin@sovereign.lan\n  sovereign verify ./coop --host coop --json",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := hf.host()
			if err != nil {
				return err
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			res, err := e.buildOne(args[0], inputs, fleetHost)
			if err != nil {
				return err
			}
			want := verify.FromTree(res.Tree, res.Rootfs, "")
			got, err := host.Observe(e.ctx, want.Query())
			if err != nil {
				if errors.Is(err, remote.ErrSSH) {
					return externalError(err)
				}
				return externalError(fmt.Errorf("reading %s: %w", host.Target, err))
			}
			drift := verify.Compare(want, got)
			if asJSON {
				if drift == nil {
					drift = []verify.Drift{}
				}
				if err := writeJSON(e, map[string]any{"host": host.Target, "matches": len(drift) == 0, "drift": drift}); err != nil {
					return err
				}
			} else {
				verify.WriteText(e.stdout, host.Target, drift)
			}
			if len(drift) > 0 {
				return errDiagnostics // the report is the message
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&fleetHost, fleetHostFlag, "", "with a fleet blueprint: the host of the fleet that --host is")
	addHostFlags(cmd, &hf)
	addInputFlags(cmd, &in)
	return cmd
}

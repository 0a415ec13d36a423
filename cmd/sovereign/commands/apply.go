package commands

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/apply"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/remote"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/verify"
	"github.com/sovereign-collective/sovereign/units/update"
)

func newApply(e *env) *cobra.Command {
	var in inputFlags
	var hf hostFlags
	var yes bool
	var image, fleetHost string
	var opt apply.Options
	cmd := &cobra.Command{
		Use:   "apply BLUEPRINT --host ADMIN@HOST [--fleet-host NAME]",
		Short: "Change a running appliance to what the blueprint builds, restarting only what must",
		Long: `Apply builds the blueprint in memory, reads what the host runs now over ssh
(as verify does), shows what it will change and asks before it changes
anything (--yes for automation). Then, on the host:

  - exactly the files that differ are written (secrets 0600 as built), each
    backed up first and switched into place with one rename;
  - exactly the services that read a changed file restart, in start order;
    while an engine restarts the gateway drains (new requests get 503 with
    Retry-After, streams finish) for --drain-grace first;
  - every restarted service must be active within --health-timeout (an
    engine: its model load), or every file comes back and the services
    restart on the old ones.

The work on the host is all or nothing and goes on when the connection
drops: run verify afterwards to see the outcome. A change only a
reprovision makes — a new admin, a data disk — is refused with the reason.

In image mode, build and push the image first (sovereign build --image REF
--push), then give its digest: apply --image REPOSITORY@sha256:DIGEST runs
the host's own sovereign-update, which switches to that image and reboots;
the health gate rolls the host back to its previous deployment when the
gateway and engines are not healthy in time.

For a fleet blueprint, --fleet-host names the fleet's host that --host
reaches: the whole fleet is built and that host's part applied.

Exit 0: applied (or nothing to do); 1: refused, cancelled or rolled back;
3: the host could not be reached.`,
		Example: "  sovereign apply ./coop --host admin@coop.lan\n  sovereign apply ./coop --host coop --yes --health-timeout 2h",
		Args:    exactArgs(1, "one BLUEPRINT (a .hcl file or a folder)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			host, err := hf.host()
			if err != nil {
				return err
			}
			if image != "" {
				return e.applyImage(host, image, yes)
			}
			inputs, err := in.inputs(e.environ)
			if err != nil {
				return err
			}
			return e.applyBuild(host, args[0], inputs, fleetHost, yes, opt)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking (for automation)")
	cmd.Flags().StringVar(&fleetHost, fleetHostFlag, "", "with a fleet blueprint: the host of the fleet that --host is")
	cmd.Flags().StringVar(&image, "image", "", "image mode: switch the host to this pushed appliance image, REPOSITORY@sha256:DIGEST, and reboot")
	cmd.Flags().DurationVar(&opt.HealthTimeout, "health-timeout", 30*time.Minute, "how long a restarted service has to become active (an engine: its model load)")
	cmd.Flags().DurationVar(&opt.DrainGrace, "drain-grace", 30*time.Second, "how long the gateway drains before an engine restarts")
	addHostFlags(cmd, &hf)
	addInputFlags(cmd, &in)
	return cmd
}

// applyBuild builds the blueprint in memory, compares it with what the host
// runs, shows the plan, asks, and runs it on the host.
func (e *env) applyBuild(host remote.Host, target string, inputs lang.Inputs, fleetHost string, yes bool, opt apply.Options) error {
	res, err := e.buildOne(target, inputs, fleetHost)
	if err != nil {
		return err
	}
	got, err := host.Observe(e.ctx, verify.FromTree(res.Tree, res.Rootfs, "").Query())
	if err != nil {
		return externalError(err)
	}
	plan := apply.Make(res.Tree, verify.Compare(verify.FromTree(res.Tree, res.Rootfs, ""), got))
	if len(plan.Refuse) > 0 {
		fmt.Fprintf(e.stderr, "%s needs a reprovision for this change; nothing was changed:\n", host.Target)
		for _, r := range plan.Refuse {
			fmt.Fprintf(e.stderr, "  %s\n", r)
		}
		return errDiagnostics
	}
	if plan.Empty() {
		fmt.Fprintf(e.stdout, "%s already runs this build: nothing to apply.\n", host.Target)
		return nil
	}
	printPlan(e, host.Target, plan)
	if !yes {
		if err := e.confirm(fmt.Sprintf("Apply these changes to %s? Only 'yes' goes on: ", host.Target)); err != nil {
			return err
		}
	}
	payload, err := plan.Payload(res.Rootfs)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	id := hex.EncodeToString(sum[:6])
	fmt.Fprintf(e.stdout, "Applying %s on %s:\n", id, host.Target)
	err = apply.Run(e.ctx, host, payload, id, opt, &prefixWriter{e: e, prefix: "  host: "})
	switch {
	case errors.Is(err, apply.ErrRolledBack):
		return &exitError{ExitInvalid, fmt.Errorf("a restarted service was not healthy in time: %s is back on its previous files", host.Target)}
	case errors.Is(err, remote.ErrSSH):
		return externalError(fmt.Errorf("%w\nThe host finishes the apply (or rolls it back) by itself; run sovereign verify to see which", err))
	case err != nil:
		return externalError(err)
	}
	fmt.Fprintf(e.stdout, "Applied: %s runs the new build.\n", host.Target)
	return nil
}

// applyImage switches an image-mode host to a pushed appliance image with
// the host's own update script, which pulls it by digest, stages it and
// reboots; the health gate rolls back after the reboot when needed.
func (e *env) applyImage(host remote.Host, ref string, yes bool) error {
	d, err := name.NewDigest(ref)
	if err != nil {
		return usageErrorf("--image %q must be REPOSITORY@sha256:DIGEST, the digest that sovereign build --image --push printed: %s", ref, err)
	}
	fmt.Fprintf(e.stdout, "Changes to %s:\n  switch  to %s and reboot (sovereign-update; the health gate rolls back if unhealthy)\n", host.Target, d.String())
	if !yes {
		if err := e.confirm(fmt.Sprintf("Apply these changes to %s? Only 'yes' goes on: ", host.Target)); err != nil {
			return err
		}
	}
	script := `exec "$1$2" "$3"`
	root := strings.TrimSuffix(host.RootOrSlash(), "/")
	err = host.Stream(e.ctx, script, nil, &prefixWriter{e: e, prefix: "  host: "}, root, update.UpdateScript, d.String())
	var exit *remote.ExitError
	switch {
	case errors.As(err, &exit):
		return &exitError{ExitInvalid, fmt.Errorf("sovereign-update on %s refused the switch (exit %d): %s", host.Target, exit.Code, exit.Stderr)}
	case err != nil:
		return externalError(fmt.Errorf("%w\nThe host may be rebooting into the new image; run sovereign verify once it is back", err))
	}
	fmt.Fprintf(e.stdout, "Switched: %s reboots into %s.\n", host.Target, d.String())
	return nil
}

func printPlan(e *env, target string, p *apply.Plan) {
	fmt.Fprintf(e.stdout, "Changes to %s:\n", target)
	for _, w := range p.Writes {
		fmt.Fprintf(e.stdout, "  write   %s\n", w)
	}
	for _, d := range p.Deletes {
		fmt.Fprintf(e.stdout, "  delete  %s\n", d)
	}
	for _, l := range slices.Sorted(maps.Keys(p.Links)) {
		fmt.Fprintf(e.stdout, "  link    %s -> %s\n", l, p.Links[l])
	}
	for _, s := range p.Stop {
		fmt.Fprintf(e.stdout, "  stop    %s (%s)\n", s, strings.Join(p.Why[s], "; "))
	}
	for _, s := range p.Restart {
		fmt.Fprintf(e.stdout, "  restart %s (%s)\n", s, strings.Join(p.Why[s], "; "))
	}
	if p.Drain {
		fmt.Fprintln(e.stdout, "  drain   the gateway while the engines restart")
	}
}

// confirm asks on stderr and reads the answer from stdin, as Terraform
// does: only "yes" goes on.
func (e *env) confirm(question string) error {
	fmt.Fprint(e.stderr, question)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.TrimSpace(line) == "yes" {
		return nil
	}
	if err != nil && strings.TrimSpace(line) == "" {
		return usageErrorf("no answer on standard input: run with --yes to apply without asking")
	}
	return &exitError{ExitInvalid, errors.New("apply cancelled; nothing was changed")}
}

// prefixWriter writes each whole line to stdout behind a prefix.
type prefixWriter struct {
	e       *env
	prefix  string
	pending string
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(w.pending+string(b), "\n")
	w.pending = lines[len(lines)-1]
	for _, line := range lines[:len(lines)-1] {
		fmt.Fprint(w.e.stdout, w.prefix+line)
	}
	return len(b), nil
}

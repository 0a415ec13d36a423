package commands

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/capacity"
)

// buildFleet builds a blueprint of several hosts into outDir/HOST/ each.
// Image mode, image bundles and --diff-against work per single host so far.
func (e *env) buildFleet(target string, in lang.Inputs, outDir string, extras buildExtras, bundleLabel string) error {
	switch {
	case extras.image != "":
		return usageErrorf("--image builds one host's image; a blueprint of several hosts does not take it yet")
	case extras.diffAgainst != "":
		return usageErrorf("--diff-against compares one host's output; for a blueprint of several hosts, run sovereign diff on each out/HOST folder")
	case bundleLabel != "":
		return usageErrorf("--image-bundle bundles one host's images; a blueprint of several hosts does not take it yet")
	}
	p := pipeline.NewLoader(e.fs)
	res, diags := pipeline.BuildFleet(p, target, in)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return err
	}
	if err := pipeline.WriteFleet(e.fs, outDir, res); err != nil {
		return externalError(fmt.Errorf("writing %s: %w", outDir, err))
	}
	f := res.Fleet
	fmt.Fprintf(e.stdout, "Built fleet %q into %s: %d hosts, the gateway on %q.\n", f.Name, filepath.Clean(outDir), len(f.Hosts), f.GatewayHost.Name)
	for i, h := range f.Hosts {
		app := h.Blueprint.Appliance
		fmt.Fprintf(e.stdout, "  %s/: appliance %q (%s, %s), %s on the link: %d files in rootfs/, %d engine(s), %d unit(s).\n",
			h.Name, app.Name, app.Hardware.Name, app.Hardware.Platform(), h.Address, len(res.Hosts[i].Rootfs), len(h.Blueprint.Engines), len(res.Hosts[i].Tree.Units))
	}
	return nil
}

// fleetPlan is `plan --json` of a fleet: each host's engine plans, as
// out/HOST/plan.json holds them, and the fleet's sums.
type fleetPlan struct {
	Hosts []fleetHostPlan `json:"hosts"`
	Total fleetTotal      `json:"total"`
}

type fleetHostPlan struct {
	Host    string                `json:"host"`
	Engines []capacity.EnginePlan `json:"engines"`
}

// fleetTotal sums the hosts: sessions at each engine's max_model_len by
// served model name, and the power of every host with an engine.
type fleetTotal struct {
	Sessions    map[string]int `json:"sessions_at_max_model_len"`
	Watts       float64        `json:"watts"`
	KWhPerMonth float64        `json:"kwh_per_month"`
	// CostPerMonth sums the hosts' costs when they are all in one currency.
	CostPerMonth *float64 `json:"cost_per_month"`
	Currency     string   `json:"currency,omitempty"`
}

// planFleet plans every host of a fleet, then prints what the fleet holds
// together: the same figures a host's plan prints, summed.
func (e *env) planFleet(target string, inputs lang.Inputs, asJSON bool) error {
	p := pipeline.NewLoader(e.fs)
	planned, diags := pipeline.PlanFleet(p, target, inputs)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return err
	}
	f := planned.Fleet
	out := fleetPlan{Total: fleetTotal{Sessions: map[string]int{}}}
	var refused hcl.Diagnostics
	costs, currencies := 0.0, map[string]bool{}
	for i, h := range f.Hosts {
		plans := planned.Hosts[i].Plans
		refused = append(refused, planned.Hosts[i].Refused...)
		out.Hosts = append(out.Hosts, fleetHostPlan{Host: h.Name, Engines: plans})
		for i, ep := range plans {
			out.Total.Sessions[h.Blueprint.Engines[i].ServedModelName] += ep.Plan.SessionsAtMaxModelLen()
		}
		if len(plans) == 0 {
			continue
		}
		pw := plans[0].Plan.Power // the host's, whichever engine
		out.Total.Watts += pw.Watts
		out.Total.KWhPerMonth += pw.KWhPerMonth
		if pw.CostPerMonth != nil {
			costs += *pw.CostPerMonth
			currencies[h.Blueprint.Appliance.Power.Currency] = true
		} else {
			currencies[""] = true
		}
	}
	if len(currencies) == 1 && !currencies[""] {
		out.Total.CostPerMonth = &costs
		for c := range currencies {
			out.Total.Currency = c
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		if _, err := e.stdout.Write(append(b, '\n')); err != nil {
			return err
		}
		return e.printDiagnostics(refused, p.Files())
	}
	for _, hp := range out.Hosts {
		fmt.Fprintf(e.stdout, "Host %q\n", hp.Host)
		if len(hp.Engines) == 0 {
			fmt.Fprintln(e.stdout, "  no engines")
		}
		if err := e.printPlans(hp.Engines, false); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout)
	}
	e.printFleetTotal(f.Name, len(f.Hosts), out.Total)
	return e.printDiagnostics(refused, p.Files())
}

func (e *env) printFleetTotal(name string, hosts int, t fleetTotal) {
	fmt.Fprintf(e.stdout, "Fleet %q, %d hosts together:\n", name, hosts)
	for _, model := range slices.Sorted(maps.Keys(t.Sessions)) {
		fmt.Fprintf(e.stdout, "  %-28s %d sessions at max_model_len at once\n", model, t.Sessions[model])
	}
	fmt.Fprintf(e.stdout, "  %-28s %.0f W, %.2f kWh a month\n", "power", t.Watts, t.KWhPerMonth)
	if t.CostPerMonth != nil {
		fmt.Fprintf(e.stdout, "  %-28s %.2f %s a month\n", "cost", *t.CostPerMonth, t.Currency)
	}
}

// validateFleet runs every check build does on each host of a fleet and
// writes nothing.
func (e *env) validateFleet(target string, in lang.Inputs) error {
	p := pipeline.NewLoader(e.fs)
	res, diags := pipeline.BuildFleet(p, target, in)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "The blueprint is valid: fleet %q, %d hosts, the gateway on %q.\n", res.Fleet.Name, len(res.Fleet.Hosts), res.Fleet.GatewayHost.Name)
	return nil
}

// fleetHostFlag is --fleet-host, which picks one host of a fleet blueprint
// for the commands that act on one host (apply, verify, diff). --host is
// already the ssh target.
const fleetHostFlag = "fleet-host"

// buildOne builds a single-host blueprint, or host fleetHost of a fleet
// blueprint (built whole, so the host gets the keys and peers the fleet
// gives it, byte for byte what `build` writes to out/HOST/).
func (e *env) buildOne(target string, in lang.Inputs, fleetHost string) (*pipeline.Result, error) {
	p := pipeline.NewLoader(e.fs)
	if !p.IsFleet(target) {
		if fleetHost != "" {
			return nil, usageErrorf("--%s %s: %s describes one host, not a fleet; leave --%s out", fleetHostFlag, fleetHost, target, fleetHostFlag)
		}
		res, _, err := e.build(target, in)
		return res, err
	}
	res, diags := pipeline.BuildFleet(p, target, in)
	if err := e.printBuildDiagnostics(diags, p.Files()); err != nil {
		return nil, err
	}
	var names []string
	for i, h := range res.Fleet.Hosts {
		if h.Name == fleetHost {
			return res.Hosts[i], nil
		}
		names = append(names, h.Name)
	}
	if fleetHost == "" {
		return nil, usageErrorf("%s is a fleet: say which host with --%s (one of %s)", target, fleetHostFlag, strings.Join(names, ", "))
	}
	return nil, usageErrorf("--%s %s: fleet %q has no such host (its hosts: %s)", fleetHostFlag, fleetHost, res.Fleet.Name, strings.Join(names, ", "))
}

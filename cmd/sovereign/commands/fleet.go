package commands

import (
	"fmt"
	"path/filepath"

	"github.com/sovereign-collective/sovereign/blueprints"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
)

// buildFleet builds a blueprint of several hosts into outDir/HOST/ each.
// Image mode, image bundles and --diff-against work per single host so far.
func (e *env) buildFleet(p *blueprints.Parser, target string, in blueprints.Inputs, outDir string, extras buildExtras, bundleLabel string) error {
	switch {
	case extras.image != "":
		return usageErrorf("--image builds one host's image; a blueprint of several hosts does not take it yet")
	case extras.diffAgainst != "":
		return usageErrorf("--diff-against compares one host's output; for a blueprint of several hosts, run sovereign diff on each out/HOST folder")
	case bundleLabel != "":
		return usageErrorf("--image-bundle bundles one host's images; a blueprint of several hosts does not take it yet")
	}
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

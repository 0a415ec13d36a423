package pipeline

import (
	"encoding/json"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules"
)

// FleetFile is out/fleet.json: the hosts of a fleet and how they are linked.
// Each host's output is out/HOST/, as a single host's is out/.
const FleetFile = "fleet.json"

// FleetResult is everything a fleet build produces: one Result per host,
// in the fleet's host order.
type FleetResult struct {
	Fleet *spec.Fleet
	Hosts []*Result
	// Summary is out/fleet.json.
	Summary []byte
}

// BuildFleet builds every host of the fleet blueprint at target, each as
// Build builds a single host. Any host's error fails the whole build.
func BuildFleet(p *decode.Loader, target string, in lang.Inputs, opts ...Option) (*FleetResult, hcl.Diagnostics) {
	f, diags := p.LoadFleet(target, in)
	if diags.HasErrors() {
		return nil, diags
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if diags = append(diags, modules.FleetKeys(f)...); diags.HasErrors() {
		return nil, diags
	}
	o.fleetHost = true
	out := &FleetResult{Fleet: f}
	for _, h := range f.Hosts {
		res, moreDiags := compile(p, target, h.Blueprint, nil, o)
		diags = append(diags, moreDiags...)
		out.Hosts = append(out.Hosts, res)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	summary, err := fleetSummary(f)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error", Detail: err.Error()})
	}
	out.Summary = summary
	return out, diags
}

type fleetJSON struct {
	Name        string         `json:"name"`
	Router      string         `json:"router"`
	GatewayHost string         `json:"gateway_host"`
	Network     string         `json:"network"`
	Port        int            `json:"port"`
	Interface   string         `json:"interface"`
	Hosts       []fleetHostRow `json:"hosts"`
}

type fleetHostRow struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	Endpoint  string `json:"endpoint,omitempty"`
	PublicKey string `json:"public_key"`
	Hardware  string `json:"hardware"`
	Engines   int    `json:"engines"`
}

// fleetSummary is fleet.json: what the hosts are and how they find each
// other; public keys only, never a private one.
func fleetSummary(f *spec.Fleet) ([]byte, error) {
	s := fleetJSON{Name: f.Name, Router: f.Router, GatewayHost: f.GatewayHost.Name,
		Network: f.Link.Network.String(), Port: f.Link.Port, Interface: f.Link.Interface}
	for _, h := range f.Hosts {
		s.Hosts = append(s.Hosts, fleetHostRow{Name: h.Name, Address: h.Address.String(), Endpoint: h.Endpoint,
			PublicKey: h.PublicKey, Hardware: h.Blueprint.Appliance.Hardware.Name, Engines: len(h.Blueprint.Engines)})
	}
	b, err := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), err
}

// WriteFleet puts the fleet's outputs at dir, each host's in dir/HOST, as a
// whole or not at all, as Write does for one host.
func WriteFleet(fsys afero.Fs, dir string, res *FleetResult) error {
	return replaceDir(fsys, dir, func(tmp string) error {
		if err := writeFile(fsys, filepath.Join(tmp, FleetFile), res.Summary, 0o644); err != nil {
			return err
		}
		for i, h := range res.Fleet.Hosts {
			hostDir := filepath.Join(tmp, h.Name)
			if err := fsys.Mkdir(hostDir, 0o700); err != nil {
				return err
			}
			if err := writeTree(fsys, hostDir, res.Hosts[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

package pipeline

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/capacity"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/wan"
)

// NewLoader is the loader every pass reads blueprints with: the language,
// then the decoders, engine blocks decoded as the engine registry declares.
// Diagnostics print with its Files().
func NewLoader(fsys afero.Fs) *decode.Loader { return decode.NewLoader(fsys, engines.Kinds) }

// IsFleet reports whether the blueprint at target describes several hosts,
// which the fleet passes (BuildFleet, PlanFleet) take.
func IsFleet(fsys afero.Fs, target string) bool { return NewLoader(fsys).IsFleet(target) }

// Planned is the pass as far as `sovereign plan` takes it: one appliance's
// blueprint and the capacity plan of each of its engines.
type Planned struct {
	Blueprint *spec.Blueprint
	Plans     []capacity.EnginePlan
	// WAN is the wan block with its defaults, whose failover budget the
	// plan prints; nil without one.
	WAN *wan.Settings
	// UPS is the ups block with its defaults, whose on-battery timeline
	// the plan prints; nil without one.
	UPS *ups.Settings
	// Refused are planning's own diagnostics (an engine that does not
	// fit, uplinks that cannot fail over in time, a battery that runs out
	// before the shutdown ends), apart from loading's so that the figures
	// can be shown first.
	Refused hcl.Diagnostics
}

// Plan runs the pass as far as planning, as Build does before compiling:
// load the blueprint at target, then plan each engine. The diagnostics are
// loading's; when they hold errors there is no plan.
func Plan(p *decode.Loader, target string, in lang.Inputs) (*Planned, hcl.Diagnostics) {
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		return nil, diags
	}
	return plan(bp), diags
}

func plan(bp *spec.Blueprint) *Planned {
	plans, refused := capacity.Blueprint(bp)
	w, wanRefused := wan.Resolve(bp.WAN)
	u, upsRefused := ups.Resolve(bp.UPS)
	refused = append(append(refused, wanRefused...), upsRefused...)
	return &Planned{Blueprint: bp, Plans: plans, WAN: w, UPS: u, Refused: refused}
}

// PlannedFleet is the plan of every host of a fleet, in the fleet's order.
type PlannedFleet struct {
	Fleet *spec.Fleet
	Hosts []*Planned
}

// PlanFleet is Plan for a blueprint of several hosts.
func PlanFleet(p *decode.Loader, target string, in lang.Inputs) (*PlannedFleet, hcl.Diagnostics) {
	f, diags := p.LoadFleet(target, in)
	if diags.HasErrors() {
		return nil, diags
	}
	out := &PlannedFleet{Fleet: f}
	for _, h := range f.Hosts {
		out.Hosts = append(out.Hosts, plan(h.Blueprint))
	}
	return out, diags
}

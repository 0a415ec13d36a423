// Package modules compiles a blueprint into the appliance tree by asking the
// module that owns each block for its contribution and merging them. Each
// block type has its own package below this one; none of them imports
// another.
package modules

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/capacity"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/modules/host"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
	"github.com/sovereign-collective/sovereign/modules/link"
	"github.com/sovereign-collective/sovereign/modules/llmd"
	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/modules/models"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/wan"
	"github.com/sovereign-collective/sovereign/units"
)

// Compile returns the whole appliance tree for bp, each engine's command
// line tuned as its capacity plan in plans derived (the values `sovereign
// plan` prints). Conflicts between contributions (two modules writing one
// file) are error diagnostics. An engine without a plan gets no derived
// tuning: the engine picks its own.
func Compile(bp *spec.Blueprint, plans []capacity.EnginePlan) (*units.Tree, hcl.Diagnostics) {
	// First, so that each engine renders the key the gateway sends it.
	diags := gateway.EngineKeys(bp.Gateway, engines.Kinds)
	return compile(bp, plans, diags)
}

// CompileFleetHost is Compile for one host of a fleet, whose engine keys
// FleetKeys derived once for every host before any of them compiles.
func CompileFleetHost(bp *spec.Blueprint, plans []capacity.EnginePlan) (*units.Tree, hcl.Diagnostics) {
	return compile(bp, plans, nil)
}

// compile is Compile after the engine keys are derived; diags are that
// derivation's.
func compile(bp *spec.Blueprint, plans []capacity.EnginePlan, diags hcl.Diagnostics) (*units.Tree, hcl.Diagnostics) {
	derived := map[string]engine.Tuning{}
	for _, ep := range plans {
		seqs, tokens := ep.Plan.Tuning.Derived()
		derived[ep.Engine] = engine.Tuning{MaxNumSeqs: seqs, MaxNumBatchedTokens: tokens}
	}
	parts := []*units.Tree{host.Compile(bp.Appliance), models.Compile(bp.Models, bp.Appliance)}
	for _, eng := range bp.Engines {
		k, ok := engines.Lookup(eng.Kind)
		if !ok {
			// The loader knows the same registry; an engine that got past
			// it unknown is a bug, never a build without its engine.
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Internal error",
				Detail:   fmt.Sprintf("bug: engine kind %q is not in the engines registry.", eng.Kind),
				Subject:  eng.DeclRange.Ptr(),
			})
			continue
		}
		t, engDiags := engine.Compile(eng, k, bp.Appliance, derived[eng.Name])
		diags = append(diags, engDiags...)
		parts = append(parts, t)
	}
	if bp.Gateway != nil {
		var mon *gateway.Monitoring
		if bp.Metrics != nil {
			status, stDiags := metrics.StatusQueries(bp)
			if stDiags.HasErrors() {
				return nil, append(diags, stDiags...)
			}
			mon = &gateway.Monitoring{Admins: bp.Metrics.Admins, Grafana: fmt.Sprintf("127.0.0.1:%d", metrics.GrafanaPort), Status: status}
		}
		gw, gwDiags := gateway.Compile(bp.Gateway, mon)
		if gwDiags.HasErrors() {
			return nil, append(diags, gwDiags...)
		}
		parts = append(parts, gw)
	}
	// Both budgets are checked before either stops the build, so that one
	// run reports a wan and a ups block that miss theirs.
	wanSettings, budgets := wan.Resolve(bp.WAN)
	upsSettings, upsDiags := ups.Resolve(bp.UPS)
	if budgets = append(budgets, upsDiags...); budgets.HasErrors() {
		return nil, append(diags, budgets...)
	}
	wanTree, err := wan.Compile(wanSettings)
	if err != nil {
		return nil, append(diags, renderFailed(err, bp.WAN.DeclRange))
	}
	upsTree, err := ups.Compile(upsSettings, bp.Engines)
	if err != nil {
		return nil, append(diags, renderFailed(err, bp.UPS.DeclRange))
	}
	linkTree, err := link.Compile(bp.Fleet)
	if err != nil {
		return nil, append(diags, renderFailed(err, bp.Fleet.Fleet.Link.DeclRange))
	}
	parts = append(parts, wanTree, upsTree, linkTree)
	router, err := llmd.Compile(bp.Fleet, bp.Gateway)
	if err != nil {
		return nil, append(diags, renderFailed(err, bp.Fleet.Fleet.RouterRange))
	}
	parts = append(parts, router)
	mt, mtDiags := metrics.Compile(bp, upsSettings)
	diags = append(diags, mtDiags...)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, mergeDiags := units.Merge(append(parts, mt)...)
	return tree, append(diags, mergeDiags...)
}

// renderFailed reports a script a module could not render: a bug in
// sovereign rather than in the blueprint, pointed at the block that asked
// for the script.
func renderFailed(err error, at hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Internal error rendering a script",
		Detail: err.Error() + " (a bug in sovereign; please report it)", Subject: &at}
}

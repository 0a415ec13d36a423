package decode

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// firstN is the first n blocks, or all of them when there are fewer.
func firstN(blocks []*hcl.Block, n int) []*hcl.Block { return blocks[:min(n, len(blocks))] }

// blueprint decodes the blocks once variables and locals are known. Models
// come before engines because engines refer to them.
func (e *evaluator) blueprint(src *lang.Source) (*spec.Blueprint, hcl.Diagnostics) {
	bp := &spec.Blueprint{}
	app, diags := e.theAppliance(src)
	bp.Appliance = app

	models, moreDiags := e.models(src)
	diags = append(diags, moreDiags...)
	for _, m := range models {
		bp.Models = append(bp.Models, m)
	}

	gpus := 0
	if bp.Appliance != nil {
		gpus = bp.Appliance.Hardware.GPUs
	}
	var engineBlocks map[*spec.Engine]*hcl.Block
	bp.Engines, engineBlocks, moreDiags = e.engines(src, models, gpus)
	diags = append(diags, moreDiags...)
	if bp.Appliance != nil {
		diags = append(diags, checkHostMemory(bp.Appliance.Hardware, bp.Engines, engineBlocks)...)
	}

	bp.WAN, bp.UPS, diags = e.resilience(src, bp.Appliance, diags)

	for i, b := range src.Blocks("metrics") {
		if i > 0 {
			diags = append(diags, lang.DuplicateDiag("metrics block", "metrics", b.DefRange, src.Blocks("metrics")[0].DefRange))
			continue
		}
		m, moreDiags := e.of(src, b).metrics(b)
		diags = append(diags, moreDiags...)
		bp.Metrics = m
	}

	osBlock, moreDiags := e.of(src, firstBlock(src.Blocks("os"))).os(src.Blocks("os"), bp.Appliance)
	diags = append(diags, moreDiags...)
	bp.OS = osBlock

	gw, moreDiags := e.theGateway(src, bp.Engines)
	diags = append(diags, moreDiags...)
	bp.Gateway = gw
	if bp.Gateway != nil || len(src.Blocks("gateway")) == 0 { // a gateway with errors has its own
		diags = append(diags, checkAdmins(bp.Metrics, bp.Gateway)...)
	}
	if bp.Gateway != nil && bp.Metrics != nil {
		// The gateway counts tokens per member from the engines' usage.
		bp.Metrics.CountsUsage = true
		for _, eng := range bp.Engines {
			eng.ReportsUsage = true
		}
	}

	sort.Slice(bp.Models, func(i, j int) bool { return bp.Models[i].Name < bp.Models[j].Name })
	sort.Slice(bp.Engines, func(i, j int) bool { return bp.Engines[i].Name < bp.Engines[j].Name })
	return bp, diags
}

// theAppliance decodes the one appliance block; none, or more than one, is
// an error.
func (e *evaluator) theAppliance(src *lang.Source) (*spec.Appliance, hcl.Diagnostics) {
	appliances := src.Blocks("appliance")
	if len(appliances) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No appliance block",
			Detail:   `A blueprint describes one appliance: add appliance "NAME" { hardware = "dgx-station-gb300" … }. sovereign init writes a starter.`,
			Subject:  src.Start.Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	for _, extra := range appliances[1:] {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "More than one appliance",
			Detail:   fmt.Sprintf("A blueprint describes one appliance; the first is at %s. Use one blueprint per machine.", appliances[0].DefRange),
			Subject:  extra.DefRange.Ptr(),
		})
	}
	app, moreDiags := e.of(src, appliances[0]).appliance(appliances[0])
	return app, append(diags, moreDiags...)
}

// models decodes the model blocks, in file order, by name; a name is used
// once.
func (e *evaluator) models(src *lang.Source) (map[string]*spec.Model, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	models := map[string]*spec.Model{}
	modelBlocks := map[string]*hcl.Block{}
	for _, b := range src.Blocks("model") {
		m, moreDiags := e.of(src, b).model(b)
		diags = append(diags, moreDiags...)
		if prev, ok := models[m.Name]; ok {
			diags = append(diags, src.DuplicateBlock("model", m.Name, b, modelBlocks[m.Name], b.LabelRanges[0], prev.DeclRange))
			continue
		}
		models[m.Name] = m
		modelBlocks[m.Name] = b
	}
	return models, diags
}

// engines decodes the engine blocks in file order, with the block each came
// from; names and ports are each used once.
func (e *evaluator) engines(src *lang.Source, models map[string]*spec.Model, gpus int) ([]*spec.Engine, map[*spec.Engine]*hcl.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var out []*spec.Engine
	engines := map[string]*spec.Engine{}
	engineBlocks := map[*spec.Engine]*hcl.Block{}
	ports := map[int]*spec.Engine{}
	for _, b := range src.Blocks("engine") {
		eng, moreDiags := e.of(src, b).engine(b, models, gpus)
		diags = append(diags, moreDiags...)
		if eng == nil {
			continue
		}
		// Engine names are unique across kinds: the name alone names the
		// container, its unit and its state folder.
		if prev, ok := engines[eng.Name]; ok {
			diags = append(diags, src.DuplicateBlock("engine", eng.Name, b, engineBlocks[prev], b.LabelRanges[1], prev.DeclRange))
			continue
		}
		if prev, ok := ports[eng.Port]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Port already in use",
				Detail:   fmt.Sprintf("Engine %q already listens on port %d (%s). Give each engine its own port.", prev.Name, eng.Port, prev.DeclRange),
				Subject:  b.DefRange.Ptr(),
			})
		}
		engines[eng.Name] = eng
		engineBlocks[eng] = b
		ports[eng.Port] = eng
		out = append(out, eng)
	}
	return out, engineBlocks, diags
}

// theGateway decodes the gateway block, if any; more than one is an error.
func (e *evaluator) theGateway(src *lang.Source, engines []*spec.Engine) (*spec.Gateway, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	gateways := src.Blocks("gateway")
	for _, extra := range gateways[min(1, len(gateways)):] {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "More than one gateway",
			Detail:   fmt.Sprintf("An appliance has one gateway; the first is at %s. Put every route and member in it.", gateways[0].DefRange),
			Subject:  extra.DefRange.Ptr(),
		}
		if src.ModuleBlock(extra) != nil || src.ModuleBlock(gateways[0]) != nil {
			m := src.DuplicateBlock("gateway", "gateway", extra, gateways[0], extra.DefRange, gateways[0].DefRange)
			d.Detail, d.Subject = "An appliance has one gateway, but "+strings.TrimPrefix(m.Detail, "A gateway named \"gateway\" ")+" Put every route and member in one.", m.Subject
		}
		diags = append(diags, d)
	}
	gw, moreDiags := e.of(src, firstBlock(gateways)).gateway(firstN(gateways, 1), engines, src.Remote)
	return gw, append(diags, moreDiags...)
}

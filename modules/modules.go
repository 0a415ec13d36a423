// Package modules compiles a blueprint into the appliance tree by asking the
// module that owns each block for its contribution and merging them. Each
// block type has its own package below this one; none of them imports
// another.
package modules

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/modules/host"
	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/modules/models"
	"github.com/sovereign-collective/sovereign/modules/nim"
	"github.com/sovereign-collective/sovereign/modules/sglang"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/vllm"
	"github.com/sovereign-collective/sovereign/modules/wan"
	"github.com/sovereign-collective/sovereign/units"
)

// Compile returns the whole appliance tree for bp. Conflicts between
// contributions (two modules writing one file) are error diagnostics.
func Compile(bp *spec.Blueprint) (*units.Tree, hcl.Diagnostics) {
	parts := []*units.Tree{host.Compile(bp.Appliance), models.Compile(bp.Models, bp.Appliance)}
	for _, eng := range bp.Engines {
		switch eng.Kind {
		case "vllm":
			parts = append(parts, vllm.Compile(eng, bp.Appliance))
		case "sglang":
			parts = append(parts, sglang.Compile(eng, bp.Appliance))
		case "nim":
			parts = append(parts, nim.Compile(eng, bp.Appliance))
		}
	}
	if bp.Gateway != nil {
		gw, diags := gateway.Compile(bp.Gateway)
		if diags.HasErrors() {
			return nil, diags
		}
		parts = append(parts, gw)
	}
	parts = append(parts, wan.Compile(bp.WAN), ups.Compile(bp.UPS, bp.Engines))
	mt, diags := metrics.Compile(bp)
	if diags.HasErrors() {
		return nil, diags
	}
	tree, moreDiags := units.Merge(append(parts, mt)...)
	return tree, append(diags, moreDiags...)
}

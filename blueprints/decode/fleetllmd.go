package decode

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// The gateway host's ports of the llm-d router (from Envoy's admin port,
// spec.LLMDEnvoyAdminPort, up), upstream i (by engine name) adding i to
// each base: Envoy's listener for the upstream (on
// loopback, where nginx sends it requests), and the upstream's endpoint
// picker's ext_proc, health and metrics ports. The picker's own defaults
// (9002, 9003, 9090) are not used: one picker runs per upstream, and 9090
// is Prometheus's.
const (
	llmdEnvoyListenerBase   = 19100
	llmdGRPCBase            = 19200
	llmdGRPCHealthBase      = 19300
	llmdMetricsBase         = 19400
	llmdMaxUpstreams        = 100
	llmdPortsFirst, llmdEnd = spec.LLMDEnvoyAdminPort, llmdMetricsBase + llmdMaxUpstreams
)

// wireLLMD gives each upstream of a fleet that routes with llm-d its
// router's ports on the gateway host. An engine of the gateway host on one
// of those ports is an error at the engine.
func wireLLMD(f *spec.Fleet) hcl.Diagnostics {
	if f.Router != spec.RouterLLMD {
		return nil
	}
	gw := f.GatewayHost.Blueprint.Gateway
	names := make([]string, 0, len(gw.Upstreams))
	for name := range gw.Upstreams {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) > llmdMaxUpstreams {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Too many engines for llm-d",
			Detail:   fmt.Sprintf("The gateway routes %d engine names; the llm-d router runs one endpoint picker per name, for at most %d.", len(names), llmdMaxUpstreams),
			Subject:  f.RouterRange.Ptr(),
		}}
	}
	for i, name := range names {
		gw.Upstreams[name].LLMD = &spec.LLMDRoute{
			Index:          i,
			Envoy:          netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(llmdEnvoyListenerBase+i)),
			GRPCPort:       llmdGRPCBase + i,
			GRPCHealthPort: llmdGRPCHealthBase + i,
			MetricsPort:    llmdMetricsBase + i,
		}
	}
	var diags hcl.Diagnostics
	for _, eng := range f.GatewayHost.Blueprint.Engines {
		if eng.Port >= llmdPortsFirst && eng.Port < llmdEnd {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Engine port taken by the llm-d router",
				Detail:   fmt.Sprintf("Engine %q listens on port %d, but on the gateway host the llm-d router (%s) uses ports %d to %d. Give the engine another port.", eng.Name, eng.Port, f.RouterRange, llmdPortsFirst, llmdEnd-1),
				Subject:  eng.DeclRange.Ptr(),
			})
		}
	}
	return diags
}

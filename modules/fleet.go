package modules

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/gateway"
)

// FleetKeys gives every host's engines the keys the gateway sends them,
// once for the fleet, before any host compiles (CompileFleetHost derives
// none): the gateway module derives them (gateway.EngineKeys), one per
// engine and host when nginx routes, so a key read on one host opens no
// other host's engine. The derivation's warnings are among the
// diagnostics, reported here only. An api_key of the
// blueprint's own that two hosts' engines share is an error for the same
// reason. Routed by llm-d, one key per engine name on every host. An engine on a
// host other than the gateway host that ends up without a key is an error:
// it would listen on the link and answer anyone there.
func FleetKeys(f *spec.Fleet) hcl.Diagnostics {
	gw := f.GatewayHost.Blueprint.Gateway
	diags := gateway.EngineKeys(gw, engines.Kinds)
	diags = append(diags, gateway.FleetKeyConflicts(gw)...)
	for _, h := range f.Hosts {
		if h == f.GatewayHost {
			continue
		}
		for _, eng := range h.Blueprint.Engines {
			if eng.APIKey == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Engine open on the link",
					Detail:   fmt.Sprintf("Engine %q %q on host %q listens on the private link, but it checks no API key: no gateway route names it, or its kind takes no key. An engine on a host other than the gateway host must be routed by the gateway, which sends it its key.", eng.Kind, eng.Name, h.Name),
					Subject:  eng.DeclRange.Ptr(),
				})
			}
		}
	}
	return diags
}

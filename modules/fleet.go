package modules

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/gateway"
)

// FleetKeys gives every host's engines the key the gateway sends them,
// before any host compiles: the gateway host's module derives a key per
// routed engine name (gateway.EngineKeys), and each host's engine of that
// name gets the same one, since nginx sends one key per upstream. An engine
// on a host other than the gateway host that ends up without a key is an
// error: it would listen on the link and answer anyone there.
func FleetKeys(f *spec.Fleet) hcl.Diagnostics {
	gw := f.GatewayHost.Blueprint.Gateway
	// Its warnings come again when the gateway host compiles; report them once.
	_ = gateway.EngineKeys(gw, engines.Kinds)
	var diags hcl.Diagnostics
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			for _, s := range gw.Upstreams[eng.Name].Servers {
				diags = append(diags, sameKey(eng, s)...)
			}
		}
	}
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

// sameKey gives server s's engine the key of eng, the engine of the same
// kind and name the route resolved to; an api_key of its own that differs
// is an error.
func sameKey(eng *spec.Engine, s spec.UpstreamServer) hcl.Diagnostics {
	other := s.Engine
	switch {
	case other == eng:
	case other.APIKey == nil:
		other.APIKey = eng.APIKey
	case eng.APIKey == nil || other.APIKey.Value != eng.APIKey.Value:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Engines of one upstream need one key",
			Detail:   fmt.Sprintf("The gateway sends every host's engine %q the same key, but on host %q it has an api_key of its own. Leave api_key out: the gateway derives one.", eng.Name, s.Host),
			Subject:  other.APIKey.Range.Ptr(),
		}}
	}
	return nil
}

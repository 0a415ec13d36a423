package modules

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/gateway"
)

// FleetKeys gives every host's engines the keys the gateway sends them,
// before any host compiles: the gateway module derives them
// (gateway.EngineKeys), one per engine and host when nginx routes, so a
// key read on one host opens no other host's engine. An api_key of the
// blueprint's own that two hosts' engines share is an error for the same
// reason. Routed by llm-d, one key per engine name on every host. An engine on a
// host other than the gateway host that ends up without a key is an error:
// it would listen on the link and answer anyone there.
func FleetKeys(f *spec.Fleet) hcl.Diagnostics {
	gw := f.GatewayHost.Blueprint.Gateway
	// Its warnings come again when the gateway host compiles; report them once.
	_ = gateway.EngineKeys(gw, engines.Kinds)
	var diags hcl.Diagnostics
	names := slices.Sorted(maps.Keys(gw.Upstreams))
	for _, name := range names {
		if gw.Upstreams[name].LLMD == nil {
			diags = append(diags, sharedKeys(gw.Upstreams[name])...)
		}
	}
	diags = append(diags, llmdKeys(gw)...)
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

// llmdKeys refuses, for an engine routed by llm-d, a host's engine whose
// key is not the one nginx sends: Envoy picks the host after nginx set the
// header, so every host's engine of the name must take the one key.
func llmdKeys(gw *spec.Gateway) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			up := gw.Upstreams[eng.Name]
			if up == nil || up.LLMD == nil || seen[eng.Name] || eng.APIKey == nil {
				continue
			}
			seen[eng.Name] = true
			for _, s := range up.Servers {
				if k := s.Engine.APIKey; k != nil && k.Value != eng.APIKey.Value {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Engines of one upstream need one key",
						Detail:   fmt.Sprintf("Routed by llm-d, the gateway sends every host's engine %q the same key, but on host %q it has an api_key of its own. Leave api_key out: the gateway derives one.", eng.Name, s.Host),
						Subject:  k.Range.Ptr(),
					})
				}
			}
		}
	}
	return diags
}

// sharedKeys refuses one key on two hosts' engines of an upstream.
func sharedKeys(up *spec.Upstream) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]string{}
	for _, s := range up.Servers {
		k := s.Engine.APIKey
		if k == nil {
			continue
		}
		if other, ok := first[k.Value]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "One engine key on two hosts",
				Detail:   fmt.Sprintf("Engine %q has the same api_key on host %q as on host %q: whoever reads it on one host can call the other's engine over the link. Leave api_key out: the gateway derives one per host.", s.Engine.Name, s.Host, other),
				Subject:  k.Range.Ptr(),
			})
			continue
		}
		first[k.Value] = s.Host
	}
	return diags
}

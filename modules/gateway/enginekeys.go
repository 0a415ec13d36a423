package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// EngineKeys gives each engine gw routes to, unless it has an api_key of
// its own, the key the gateway sends it, derived from the gateway's cookie
// secret (HMAC-SHA256, one key per engine). Only the gateway and the engine
// hold it, so nothing else on the host can call an engine directly. It runs
// before the engines compile: each engine's module renders the key as it
// renders any api_key, and this module's nginx config sends the same value.
// An engine with its own api_key keeps it, and the gateway sends that one.
// A kind that checks no key (kinds says which) stays without one: routing
// to it is allowed, with a warning that it stays open to the host. A nil
// gateway routes nothing.
//
// In a fleet (gw.Upstreams names the engine) routed by nginx, every host's
// engine of that name gets a key of its own, derived with the host's name:
// a key read on one host (its engine's environment, a core dump) opens no
// other host's engine. The gateway sends each host's key through that
// host's hop. Routed by llm-d, Envoy picks the host after nginx set the
// header, so every host's engine of the name shares the one key.
func EngineKeys(gw *spec.Gateway, kinds spec.EngineKinds) hcl.Diagnostics {
	if gw == nil {
		return nil
	}
	var diags hcl.Diagnostics
	seen := map[*spec.Engine]bool{}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			if seen[eng] {
				continue
			}
			seen[eng] = true
			if k, ok := kinds.Lookup(eng.Kind); ok && k.APIKey.Env == "" {
				if eng.APIKey == nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "Engine open to the host",
						Detail:   fmt.Sprintf("%s checks no API key, so any process on the appliance can call engine %q at 127.0.0.1:%d without going through the gateway. Members still reach it only through the gateway.", k.Display, eng.Name, eng.Port),
						Subject:  r.DeclRange.Ptr(),
					})
				}
				continue
			}
			up := gw.Upstreams[eng.Name]
			if up == nil {
				deriveKey(gw, r, eng, "")
				continue
			}
			for _, s := range up.Servers {
				seen[s.Engine] = true
				if up.LLMD != nil {
					// Envoy picks the host after nginx set the key: one
					// key for the name on every host (FleetKeyConflicts
					// refuses an api_key of one host's own).
					deriveKey(gw, r, eng, "")
					if s.Engine.APIKey == nil {
						s.Engine.APIKey = eng.APIKey
					}
					continue
				}
				deriveKey(gw, r, s.Engine, s.Host)
			}
		}
	}
	return diags
}

// deriveKey gives eng, unless it has a key of its own, the one derived
// from the cookie secret for its kind, name and (in a fleet) host. A
// single host's engine is derived without a host, as it always was.
func deriveKey(gw *spec.Gateway, r *spec.Route, eng *spec.Engine, host string) {
	if eng.APIKey != nil {
		return
	}
	msg := "sovereign gateway engine key\x00" + eng.Kind + "\x00" + eng.Name
	if host != "" {
		msg += "\x00" + host
	}
	mac := hmac.New(sha256.New, []byte(gw.CookieSecret.Value))
	mac.Write([]byte(msg))
	eng.APIKey = &spec.Secret{Value: "sk-gw-" + hex.EncodeToString(mac.Sum(nil)), Range: r.DeclRange}
}

// FleetKeyConflicts refuses the fleet's engine keys that break what
// EngineKeys promises: one key on two hosts' engines of an upstream nginx
// routes, and, for an upstream llm-d routes, a host's engine whose key is
// not the one nginx sends.
func FleetKeyConflicts(gw *spec.Gateway) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(gw.Upstreams)) {
		if gw.Upstreams[name].LLMD == nil {
			diags = append(diags, sharedKeys(gw.Upstreams[name])...)
		}
	}
	return append(diags, llmdKeys(gw)...)
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

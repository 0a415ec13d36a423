package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

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
func EngineKeys(gw *spec.Gateway, kinds spec.EngineKinds) hcl.Diagnostics {
	if gw == nil {
		return nil
	}
	var diags hcl.Diagnostics
	seen := map[*spec.Engine]bool{}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			if !seen[eng] {
				seen[eng] = true
				diags = append(diags, engineKey(gw, r, eng, kinds)...)
			}
		}
	}
	return diags
}

func engineKey(gw *spec.Gateway, r *spec.Route, eng *spec.Engine, kinds spec.EngineKinds) hcl.Diagnostics {
	if eng.APIKey != nil {
		return nil
	}
	if k, ok := kinds.Lookup(eng.Kind); ok && k.APIKey.Env == "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Engine open to the host",
			Detail:   fmt.Sprintf("%s checks no API key, so any process on the appliance can call engine %q at 127.0.0.1:%d without going through the gateway. Members still reach it only through the gateway.", k.Display, eng.Name, eng.Port),
			Subject:  r.DeclRange.Ptr(),
		}}
	}
	mac := hmac.New(sha256.New, []byte(gw.CookieSecret.Value))
	mac.Write([]byte("sovereign gateway engine key\x00" + eng.Kind + "\x00" + eng.Name))
	eng.APIKey = &spec.Secret{Value: "sk-gw-" + hex.EncodeToString(mac.Sum(nil)), Range: r.DeclRange}
	return nil
}

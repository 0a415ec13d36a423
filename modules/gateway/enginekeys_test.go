package gateway_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/gateway"
)

var gatewayKey = regexp.MustCompile(`^sk-gw-[0-9a-f]{64}$`)

// keyed is a gateway routing to a vLLM engine twice, an SGLang engine with
// a key of its own and a NIM engine; one engine is not routed.
func keyed(cookie string) (*spec.Gateway, map[string]*spec.Engine) {
	at := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 9, Column: 3}}
	e := map[string]*spec.Engine{
		"main":   {Kind: "vllm", Name: "main", Port: 8000},
		"fast":   {Kind: "sglang", Name: "fast", Port: 30000, APIKey: &spec.Secret{Value: "sk-own-0123456789abcdef0123456789abcdef"}},
		"ops":    {Kind: "nim", Name: "ops", Port: 8003},
		"spare":  {Kind: "vllm", Name: "spare", Port: 8004},
		"second": {Kind: "vllm", Name: "second", Port: 8005},
	}
	return &spec.Gateway{
		CookieSecret: &spec.Secret{Value: cookie},
		Routes: []*spec.Route{
			{Path: "/v1/", Engine: e["main"], Engines: []*spec.Engine{e["main"], e["fast"], e["second"]}},
			{Path: "/main/v1/", Engine: e["main"], Engines: []*spec.Engine{e["main"]}},
			{Path: "/ops/v1/", Engine: e["ops"], Engines: []*spec.Engine{e["ops"]}, DeclRange: at},
		},
	}, e
}

// TestEngineKeys: each routed engine without a key of its own gets one,
// derived from the cookie secret (the same secret, the same key; another
// secret, another key; each engine its own); an engine's own key stays; a
// kind that checks no key gets none and a warning at its route; an engine
// no route names gets nothing.
func TestEngineKeys(t *testing.T) {
	gw, e := keyed("0123456789abcdef0123456789abcdef")
	diags := gateway.EngineKeys(gw, engines.Kinds)
	main := e["main"].APIKey
	if main == nil || !gatewayKey.MatchString(main.Value) {
		t.Fatalf("main's key %v", main)
	}
	if main.Range != gw.Routes[0].DeclRange {
		t.Errorf("main's key comes from %v, want the first route naming it", main.Range)
	}
	if k := e["second"].APIKey; k == nil || k.Value == main.Value {
		t.Errorf("second's key %v: each engine needs its own", k)
	}
	if k := e["fast"].APIKey.Value; k != "sk-own-0123456789abcdef0123456789abcdef" {
		t.Errorf("fast's own key was replaced by %q", k)
	}
	if e["ops"].APIKey != nil || e["spare"].APIKey != nil {
		t.Errorf("ops (NIM) or spare (not routed) got a key: %v %v", e["ops"].APIKey, e["spare"].APIKey)
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Summary != "Engine open to the host" ||
		diags[0].Subject == nil || *diags[0].Subject != gw.Routes[2].DeclRange {
		t.Errorf("diagnostics %v; want one warning at the NIM route", diags)
	}

	again, e2 := keyed("0123456789abcdef0123456789abcdef")
	gateway.EngineKeys(again, engines.Kinds)
	if e2["main"].APIKey.Value != main.Value {
		t.Error("the same cookie secret gave another key: builds would not be reproducible")
	}
	other, e3 := keyed("fedcba9876543210fedcba9876543210")
	gateway.EngineKeys(other, engines.Kinds)
	if e3["main"].APIKey.Value == main.Value {
		t.Error("the key does not depend on the cookie secret")
	}
	if gateway.EngineKeys(nil, engines.Kinds) != nil {
		t.Error("no gateway, yet diagnostics")
	}
}

// TestEngineKeysFleet: in a fleet every host's engine of a routed name gets
// a key of its own (a key read on one host opens no other's), the same on
// every build; an engine's own key stays; a single host's engine keeps the
// key it had before fleets (derived without a host).
func TestEngineKeysFleet(t *testing.T) {
	const cookie = "0123456789abcdef0123456789abcdef"
	single, es := keyed(cookie)
	gateway.EngineKeys(single, engines.Kinds)

	fleet := func() (*spec.Gateway, []*spec.Engine) {
		gw, e := keyed(cookie)
		annex := &spec.Engine{Kind: "vllm", Name: "main", Port: 8000}
		other := &spec.Engine{Kind: "vllm", Name: "main", Port: 8000, APIKey: &spec.Secret{Value: "sk-own-annex2-0123456789abcdef"}}
		gw.Upstreams = map[string]*spec.Upstream{"main": {Servers: []spec.UpstreamServer{
			{Host: "annex", Engine: annex}, {Host: "annex2", Engine: other}, {Host: "station", Engine: e["main"]},
		}}}
		gateway.EngineKeys(gw, engines.Kinds)
		return gw, []*spec.Engine{annex, other, e["main"]}
	}
	_, hosts := fleet()
	annex, other, station := hosts[0].APIKey, hosts[1].APIKey, hosts[2].APIKey
	if annex == nil || station == nil || !gatewayKey.MatchString(annex.Value) || !gatewayKey.MatchString(station.Value) {
		t.Fatalf("keys %v %v", annex, station)
	}
	if annex.Value == station.Value {
		t.Error("hosts annex and station share one engine key")
	}
	if station.Value == es["main"].APIKey.Value {
		t.Error("a fleet host's key is the single host's: the host is not in the derivation")
	}
	if other.Value != "sk-own-annex2-0123456789abcdef" {
		t.Errorf("annex2's own key was replaced by %q", other.Value)
	}
	_, again := fleet()
	if again[0].APIKey.Value != annex.Value || again[2].APIKey.Value != station.Value {
		t.Error("the same cookie secret gave other keys: builds would not be reproducible")
	}
}

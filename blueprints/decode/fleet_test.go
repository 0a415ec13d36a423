package decode_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// fleetFiles is a two-host fleet, "a" (the gateway host) and "b", each
// with the shared engine of testEngine and a model of its own; replace
// rewrites the main file's text before it is used.
func fleetFiles(replace ...string) map[string]string {
	files := gatewayFiles(alice)
	gw := files["bp/main.hcl"][strings.Index(files["bp/main.hcl"], "\ngateway {"):]
	host := func(name, addr, key string) string {
		app := strings.Replace(testAppliance, `appliance "coop"`, `appliance "`+name+`"`, 1)
		return `
host "` + name + `" {
  address     = "` + addr + `"
  endpoint    = "` + name + `.example.org"
  private_key = secret_file("` + name + `.wg")
` + app + testModel + `}
`
	}
	main := `
fleet "coop" {
  gateway_host = "a"
  link {
    network = "10.77.0.0/24"
  }
}
` + host("a", "10.77.0.1", "") + host("b", "10.77.0.2", "") + testEngine + gw
	r := strings.NewReplacer(replace...)
	files["bp/main.hcl"] = r.Replace(main)
	delete(files, "bp/members.hcl") // a folder's .hcl files are all blueprint files
	files["bp/a.wg"] = "cGqFbGvPmMAgPvWmCGcnxdyhqbWPp2RM7XdIBvt/yl0=\n"
	files["bp/b.wg"] = "QH8e0XyD4Jt4zCvxSX8ABmhLZ0ZobxuJGwbydp2/v3I=\n"
	return files
}

func loadFleet(t *testing.T, files map[string]string) (*spec.Fleet, []string) {
	t.Helper()
	p := testParser(t, files)
	f, diags := p.LoadFleet("bp", lang.Inputs{})
	if diags.HasErrors() && f != nil {
		t.Errorf("LoadFleet returned a fleet along with errors")
	}
	return f, errorList(diags)
}

func TestFleetLoads(t *testing.T) {
	f, errs := loadFleet(t, fleetFiles())
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(f.Hosts) != 2 || f.GatewayHost.Name != "a" || f.Hosts[0].Name != "a" {
		t.Fatalf("hosts %v, gateway %q", f.Hosts, f.GatewayHost.Name)
	}
	a, b := f.Hosts[0].Blueprint, f.Hosts[1].Blueprint
	if a.Gateway == nil || b.Gateway != nil {
		t.Errorf("the gateway must be on host a only: a %v, b %v", a.Gateway != nil, b.Gateway != nil)
	}
	if a.Engines[0].Listen.IsValid() || b.Engines[0].Listen != netip.MustParseAddr("10.77.0.2") {
		t.Errorf("engine listen addresses: a %v, b %v; want loopback on the gateway host, the link address on the other", a.Engines[0].Listen, b.Engines[0].Listen)
	}
	up := a.Gateway.Upstreams["main"]
	want := []spec.UpstreamServer{
		{Host: "a", Engine: a.Engines[0], Address: netip.MustParseAddrPort("127.0.0.1:8000")},
		{Host: "b", Engine: b.Engines[0], Address: netip.MustParseAddrPort("10.77.0.2:8000")},
	}
	if up == nil || !slices.Equal(up.Servers, want) {
		t.Errorf("upstream servers: %+v, want %+v", up, want)
	}
	// wg pubkey < a.wg
	if f.Hosts[0].PublicKey != "6bRDFmvh6hbBa0HTzg+BqeN+YFG3vsGWKCk/yzO2Zk0=" {
		t.Errorf("host a's public key is %s", f.Hosts[0].PublicKey)
	}
}

// TestFleetErrors: each mistake is an error at the line that makes it.
func TestFleetErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		replace []string
		want    []string
	}{
		{"duplicate host", []string{`host "b"`, `host "a"`}, []string{"bp/main.hcl:29,6: Duplicate host"}},
		{"address clash", []string{`"10.77.0.2"`, `"10.77.0.1"`}, []string{"bp/main.hcl:30,17: Address already in use"}},
		{"address outside the link", []string{`"10.77.0.2"`, `"10.78.0.2"`}, []string{"bp/main.hcl:30,17: Address outside the link"}},
		{"unknown gateway host", []string{`gateway_host = "a"`, `gateway_host = "c"`}, []string{"bp/main.hcl:3,18: No such gateway host"}},
		{"no endpoints", []string{`endpoint    = "a.example.org"`, ``, `endpoint    = "b.example.org"`, ``}, []string{"bp/main.hcl:29,1: Hosts cannot reach each other"}},
		{"bad key", []string{`secret_file("b.wg")`, `secret_file("cookie.secret")`}, []string{"bp/main.hcl:32,17: Invalid WireGuard key"}},
		{"gateway in a host", []string{`host "b" {`, "host \"b\" {\n  gateway {}"}, []string{"bp/main.hcl:30,3: Unsupported block type"}},
		{"unknown router", []string{`gateway_host = "a"`, "gateway_host = \"a\"\n  router = \"llmd\""}, []string{"bp/main.hcl:4,12: Unsupported value"}},
		{"engine on the llm-d router's ports", []string{`gateway_host = "a"`, "gateway_host = \"a\"\n  router = \"llm-d\"", `model = model.qwen3`, "model = model.qwen3\n  port = 19100"}, []string{"bp/main.hcl:50,1: Engine port taken by the llm-d router"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := loadFleet(t, fleetFiles(c.replace...))
			if diff := cmp.Diff(c.want, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", diff, fleetFiles(c.replace...)["bp/main.hcl"])
			}
		})
	}
}

// TestFleetLLMD: with router = "llm-d" each routed engine name gets its
// llm-d router on the gateway host, still listing every host's engine.
func TestFleetLLMD(t *testing.T) {
	f, errs := loadFleet(t, fleetFiles(`gateway_host = "a"`, "gateway_host = \"a\"\n  router = \"llm-d\""))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	// The images are the llmd module's defaults, not the decoder's.
	if f.Router != spec.RouterLLMD || f.EndpointPickerImage.Ref != "" || f.EnvoyImage.Ref != "" {
		t.Errorf("router %q, images %q %q", f.Router, f.EndpointPickerImage.Ref, f.EnvoyImage.Ref)
	}
	up := f.GatewayHost.Blueprint.Gateway.Upstreams["main"]
	want := &spec.LLMDRoute{Envoy: netip.MustParseAddrPort("127.0.0.1:19100"), GRPCPort: 19200, GRPCHealthPort: 19300, MetricsPort: 19400}
	if up == nil || up.LLMD == nil || *up.LLMD != *want || len(up.Servers) != 2 {
		t.Errorf("upstream main: %+v, want llm-d at %+v over both hosts' engines", up, want)
	}
	plain, _ := loadFleet(t, fleetFiles())
	if plain.Router != spec.RouterNginx || plain.GatewayHost.Blueprint.Gateway.Upstreams["main"].LLMD != nil {
		t.Errorf("the default router is %q with llm-d routes", plain.Router)
	}
}

// TestSingleLoadRefusesFleet: commands that take one host say so at the
// fleet's blocks rather than building one of its hosts.
func TestSingleLoadRefusesFleet(t *testing.T) {
	errs := loadErrors(t, fleetFiles(), "bp", lang.Inputs{})
	if len(errs) != 3 || !strings.HasSuffix(errs[0], "A blueprint of several hosts") {
		t.Errorf("errors: %v", errs)
	}
}

package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/link"
	"github.com/sovereign-collective/sovereign/modules/llmd"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// fleetLLMDCase is the reference fleet routed by llm-d's endpoint picker
// and Envoy instead of nginx's upstreams: the same two GB300, the same
// members and engines.
const fleetLLMDCase = "testdata/blueprints/fleet-llmd"

// TestFleetLLMDGolden compares the llm-d fleet's whole output with
// testdata/golden/fleet-llmd.
func TestFleetLLMDGolden(t *testing.T) {
	out, _ := buildFleet(t, fleetLLMDCase)
	got := readTree(t, out)
	goldenDir := filepath.Join("testdata", "golden", "fleet-llmd")
	if golden.Updating() {
		os.RemoveAll(goldenDir)
	}
	for _, rel := range sortedKeys(got) {
		golden.Check(t, filepath.Join(goldenDir, filepath.FromSlash(rel)), got[rel])
	}
	want := readTree(t, goldenDir)
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
		t.Errorf("output files differ from the golden tree (-want +got):\n%s", diff)
	}
}

// TestFleetLLMDValidators runs the peers over the llm-d fleet: Podman's
// quadlet generator and systemd-analyze verify over every unit (the
// gateway host's two more: the endpoint picker and Envoy), ignition-
// validate, and on the gateway host nginx -t and oauth2-proxy
// --config-test over the gateway that now proxies to Envoy.
func TestFleetLLMDValidators(t *testing.T) {
	nft := peers.Tool(t, "nft")
	out, res := buildFleet(t, fleetLLMDCase)
	wantUnits := map[string]int{"station": 11, "annex": 8} // with the link firewall (and annex's drain path and service)
	for i, h := range res.Fleet.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			dir := filepath.Join(out, h.Name)
			if n := peers.VerifyUnits(t, filepath.Join(dir, output.RootfsDir)); n != wantUnits[h.Name] {
				t.Errorf("systemd-analyze verified %d units, want %d", n, wantUnits[h.Name])
			}
			peers.IgnitionValidate(t, filepath.Join(dir, output.IgnitionFile))
			table := filepath.Join(dir, output.RootfsDir, filepath.FromSlash(link.FirewallFile))
			if b, err := exec.Command(nft, "--check", "-f", table).CombinedOutput(); err != nil {
				t.Errorf("nft --check -f %s: %v\n%s", link.FirewallFile, err, b)
			}
			if h == res.Fleet.GatewayHost {
				checkGatewayConfigs(t, res.Hosts[i])
				checkPickerPortsClosed(t, table, h.Blueprint.Gateway)
			}
		})
	}
}

// checkPickerPortsClosed: the endpoint pickers listen on every address,
// so the gateway host's link firewall must drop their ports on every
// interface but loopback.
func checkPickerPortsClosed(t *testing.T, table string, gw *spec.Gateway) {
	t.Helper()
	b, err := os.ReadFile(table)
	if err != nil {
		t.Fatal(err)
	}
	nft := string(b)
	if !strings.Contains(nft, `iifname != "lo" tcp dport @loopback_ports drop`) {
		t.Errorf("%s does not drop the pickers' ports off loopback:\n%s", link.FirewallFile, nft)
	}
	set := regexp.MustCompile(`set loopback_ports \{[^}]*elements = \{ ([0-9, ]+) \}`).FindStringSubmatch(nft)
	if set == nil {
		t.Fatalf("%s has no loopback_ports set:\n%s", link.FirewallFile, nft)
	}
	closed := strings.Split(set[1], ", ")
	for name, up := range gw.Upstreams {
		if r := up.LLMD; r != nil {
			for _, port := range []int{r.GRPCPort, r.GRPCHealthPort, r.MetricsPort} {
				if !slices.Contains(closed, strconv.Itoa(port)) {
					t.Errorf("picker %s's port %d is open off loopback (loopback_ports: %s)", name, port, set[1])
				}
			}
		}
	}
}

// envoyStandIn records what the gateway's nginx sends to Envoy's
// listener: it is no Envoy (none is installable here) and proves only
// nginx's half of the wiring.
type envoyStandIn struct {
	mu       sync.Mutex
	requests []envoyRequest
}

type envoyRequest struct {
	path, authorization, member, destination, body string
	destinationSet                                 bool
}

func (e *envoyStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, set := r.Header[http.CanonicalHeaderKey(llmd.DestinationHeader)]
	e.mu.Lock()
	e.requests = append(e.requests, envoyRequest{
		path: r.URL.Path, authorization: r.Header.Get("Authorization"), member: r.Header.Get("X-Sovereign-Member"),
		destination: r.Header.Get(llmd.DestinationHeader), destinationSet: set, body: string(body),
	})
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true}`)
}

// TestFleetLLMDGatewayToEnvoy runs the real nginx on the gateway of a
// fleet routed by llm-d, with a stand-in on Envoy's listener: a member's
// request reaches it with the engine's internal key (which Envoy passes
// on to the engine the picker names) and the member's name, and without
// the destination header even when the member sets one, since only the
// endpoint picker may choose the engine.
func TestFleetLLMDGatewayToEnvoy(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	httpsPort, httpPort, authPort := gwPort(t), gwPort(t), gwPort(t)
	path, keys, caCert := fleetRoutingBlueprint(t, httpsPort, httpPort, authPort)
	main, _ := os.ReadFile(path)
	routed := strings.Replace(string(main), `gateway_host = "gw"`, "gateway_host = \"gw\"\n  router       = \"llm-d\"", 1)
	writeFile(t, path, routed, 0o600)
	writeFile(t, strings.TrimSuffix(path, ".hcl")+".lock.hcl", fmt.Sprintf(`
image %q {
  tag      = "distroless-v1.33.2"
  unpinned = "test"
}

image %q {
  tag      = "v0.8.1"
  unpinned = "test"
}
`, llmd.DefaultEnvoyImage, llmd.DefaultEndpointPickerImage), 0o600)
	_, res := buildFleet(t, path)
	f := res.Fleet
	var gwRes *pipeline.Result
	for i, h := range f.Hosts {
		if h == f.GatewayHost {
			gwRes = res.Hosts[i]
		}
	}
	route := f.GatewayHost.Blueprint.Gateway.Upstreams["main"].LLMD
	engineKey := f.Hosts[0].Blueprint.Engines[0].APIKey.Value // host b's, the same on c
	if route == nil {
		t.Fatal("the fleet does not route engine main with llm-d")
	}

	standIn := &envoyStandIn{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: standIn}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	sg := stageGateway(t, gwRes)
	conf := readString(t, sg.nginxConf)
	writeFile(t, sg.nginxConf, gwReplace(t, conf, "server "+route.Envoy.String()+";", "server "+l.Addr().String()+";"), 0o644)
	gwStart(t, filepath.Join(sg.dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	api := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	gw := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	gwWaitReady(t, api, gw+"/health")

	for _, m := range fleetMembers[:3] {
		c := gwDo(t, api, "POST", gw+"/v1/chat/completions", map[string]string{
			"Authorization":        "Bearer " + keys[m],
			llmd.DestinationHeader: "10.77.0.3:22",
		}, gwChatBody)
		if c.status != 200 {
			t.Fatalf("member %s: %d %q", m, c.status, c.body)
		}
	}
	anonymous := gwDo(t, api, "POST", gw+"/v1/chat/completions", nil, gwChatBody)
	if anonymous.status != 401 {
		t.Errorf("a request without a member key got %d, want 401 before Envoy", anonymous.status)
	}

	standIn.mu.Lock()
	defer standIn.mu.Unlock()
	if len(standIn.requests) != 3 {
		t.Fatalf("Envoy's listener got %d requests, want the 3 members'", len(standIn.requests))
	}
	for i, r := range standIn.requests {
		m := fleetMembers[i]
		if r.member != m || r.authorization != "Bearer "+engineKey || r.path != "/v1/chat/completions" || r.body != gwChatBody {
			t.Errorf("request %d: member %q, authorization %q, path %q, body %q; want member %s with the engine's internal key", i, r.member, r.authorization, r.path, r.body, m)
		}
		if r.destinationSet {
			t.Errorf("member %s chose the engine: %s reached Envoy as %q", m, llmd.DestinationHeader, r.destination)
		}
	}
}

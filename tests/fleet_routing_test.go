package tests

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"
	"golang.org/x/sys/unix"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// fleetMembers are the routing test's members, each with an API key.
var fleetMembers = []string{"ana", "ben", "cai", "dee", "eli", "fay", "gus", "hal"}

// fleetRoutingBlueprint writes a three-host fleet: the gateway host "gw",
// without engines, and "b" and "c", each running engine "main" on the link.
func fleetRoutingBlueprint(t *testing.T, httpsPort, httpPort, authPort int) (path string, keys map[string]string, caCert []byte) {
	t.Helper()
	dir := t.TempDir()
	cert, key := gwSelfSignedCert(t)
	keys = map[string]string{}
	files := map[string]string{"cert.pem": string(cert), "key.pem": string(key),
		"cookie.secret": gwRandomHex(t), "client.secret": "client-secret-" + gwRandomHex(t)}
	var members strings.Builder
	for _, m := range fleetMembers {
		keys[m] = "sk-test-" + m + "-" + gwRandomHex(t)
		files[m+".key"] = keys[m]
		fmt.Fprintf(&members, "  member %q {\n    email = \"%s@example.org\"\n    api_key = secret_file(\"%s.key\")\n  }\n", m, m, m)
	}
	host := func(name, addr, wgKey string, engine bool) string {
		files[name+".wg"] = wgKey
		s := fmt.Sprintf(`
host %q {
  address     = %q
  endpoint    = "%s.example.org"
  private_key = secret_file("%s.wg")
  appliance %q {
    hardware = "dgx-station-gb300"
    hostname = %q
    admin "ops" {
      ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGatewayTestKey000000000000000000000000000 test"]
    }
  }
  model "m" {
    catalog = "qwen3-30b-a3b"
    weights = "fp8"
  }
`, name, addr, name, name, name, name)
		if engine {
			s += `  engine "vllm" "main" {
    model             = model.m
    served_model_name = "qwen3-30b"
    image             = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
    port              = 8000
    max_model_len     = 32768
  }
`
		}
		return s + "}\n"
	}
	files["main.hcl"] = `
fleet "lab" {
  gateway_host = "gw"
  link {
    network = "10.77.0.0/24"
  }
}
` + host("gw", "10.77.0.1", "cGqFbGvPmMAgPvWmCGcnxdyhqbWPp2RM7XdIBvt/yl0=", false) +
		host("b", "10.77.0.2", "QH8e0XyD4Jt4zCvxSX8ABmhLZ0ZobxuJGwbydp2/v3I=", true) +
		host("c", "10.77.0.3", "aBr6xLrYxc8ZkmRZqW1mWeO4OCiIWvPy9B5bM3wO0FI=", true) + fmt.Sprintf(`
gateway {
  domain        = "127.0.0.1"
  https_port    = %d
  http_port     = %d
  auth_port     = %d
  cookie_secret = secret_file("cookie.secret")
  tls {
    certificate = file("cert.pem")
    key         = secret_file("key.pem")
  }
  oidc {
    issuer        = "https://id.example.org"
    client_id     = "sovereign-test"
    client_secret = secret_file("client.secret")
  }
  rate_limit {
    requests_per_minute = 6000
    burst               = 1000
  }
%s
  route "/v1/" {
    engine = engine.vllm.main
  }
}
`, httpsPort, httpPort, authPort, members.String())
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "main.hcl"), keys, cert
}

// linkEngine stands in for one host's engine: it answers with its host's
// name when the request carries the internal key, and counts the requests
// that reached it without.
type linkEngine struct {
	host, key string
	srv       *http.Server
	mu        sync.Mutex
	keyless   int
	hangups   int
	// streaming is told when a slow stream (X-Test-Stream) has begun.
	streaming chan struct{}
}

func (fe *linkEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+fe.key {
		fe.mu.Lock()
		fe.keyless++
		fe.mu.Unlock()
		http.Error(w, `{"error":"no key"}`, http.StatusUnauthorized)
		return
	}
	if r.Header.Get("X-Test-Hang-Up") != "" {
		// Took the request, then died: the connection closes unanswered.
		fe.mu.Lock()
		fe.hangups++
		fe.mu.Unlock()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	if r.Header.Get("X-Test-Stream") != "" {
		// A generation in flight: ten chunks over two seconds.
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 10; i++ {
			fmt.Fprintf(w, "data: chunk %d from %s\n\n", i, fe.host)
			w.(http.Flusher).Flush()
			if i == 0 {
				select {
				case fe.streaming <- struct{}{}:
				default:
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"host": fe.host, "member": r.Header.Get("X-Sovereign-Member")})
}

func (fe *linkEngine) keylessRequests() int {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return fe.keyless
}

// listenInNetns opens a TCP listener inside network namespace ns: the
// socket is created by a thread that joined ns, and stays in ns whoever
// serves it.
func listenInNetns(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := inNetns(ns, func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	return l
}

// inNetns runs fn on a thread that joined network namespace ns. The
// thread is never unlocked, so it ends with its goroutine and nothing
// else runs in ns.
func inNetns(ns string, fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns %s: %v", ns, err)
			return
		}
		ch <- fn()
	}()
	return <-ch
}

// linkNamespaces stands in for the private link: one network namespace per
// remote host, joined to this one (the gateway host, 10.77.0.1) by a veth
// pair with the host's link address at its far end.
func linkNamespaces(t *testing.T, f *spec.Fleet) map[string]string {
	t.Helper()
	ipCmd := needCommand(t, "ip")
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	pid := strconv.Itoa(os.Getpid() % 100000)
	spaces := map[string]string{}
	for _, h := range f.Hosts {
		if h == f.GatewayHost {
			continue
		}
		ns, dev := "sv-fleet-"+h.Name+"-"+pid, "svf"+h.Name+pid
		if out, err := exec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
			missingPeer(t, fmt.Sprintf("cannot create network namespaces here: %v %s", err, out))
		}
		t.Cleanup(func() {
			_ = exec.Command(ipCmd, "link", "del", dev).Run()
			_ = exec.Command(ipCmd, "netns", "del", ns).Run()
		})
		spaces[h.Name] = ns
		gwAddr, addr := f.GatewayHost.Address.String(), h.Address.String()
		ip("link", "add", dev, "type", "veth", "peer", "name", f.Link.Interface, "netns", ns)
		ip("addr", "add", gwAddr+"/32", "peer", addr+"/32", "dev", dev)
		ip("link", "set", dev, "up")
		ip("-n", ns, "link", "set", "lo", "up")
		ip("-n", ns, "addr", "add", addr+"/32", "peer", gwAddr+"/32", "dev", f.Link.Interface)
		ip("-n", ns, "link", "set", f.Link.Interface, "up")
	}
	return spaces
}

// TestFleetRouting runs the gateway host's rendered nginx (Debian's) in
// front of two hosts' engines, each in a network namespace of its own
// reached over a veth pair at its link address, and checks the nginx
// router: each member sticks to one engine and both engines get members;
// a host that stops answering (its replies dropped, as when it loses power)
// moves its members to the other within the connect timeout; and no
// request reaches an engine without the internal key, which the engines
// require of anyone else.
func TestFleetRouting(t *testing.T) {
	needRoot(t)
	nginx := peers.Tool(t, "nginx")
	httpsPort, httpPort, authPort := gwPort(t), gwPort(t), gwPort(t)
	path, keys, caCert := fleetRoutingBlueprint(t, httpsPort, httpPort, authPort)
	_, res := buildFleet(t, path)
	f := res.Fleet
	var gwRes *pipeline.Result
	engines := map[string]*linkEngine{}
	for i, h := range f.Hosts {
		if h == f.GatewayHost {
			gwRes = res.Hosts[i]
			continue
		}
		engines[h.Name] = &linkEngine{host: h.Name, key: h.Blueprint.Engines[0].APIKey.Value, streaming: make(chan struct{}, 1)}
	}
	up := f.GatewayHost.Blueprint.Gateway.Upstreams["main"]
	if up == nil || len(up.Servers) != 2 {
		t.Fatalf("the gateway's upstream for engine main: %+v, want the engines of b and c", up)
	}
	spaces := linkNamespaces(t, f)
	for _, s := range up.Servers {
		fe := engines[s.Host]
		fe.srv = &http.Server{Handler: fe}
		l := listenInNetns(t, spaces[s.Host], s.Address.String())
		go fe.srv.Serve(l)
		t.Cleanup(func() { fe.srv.Close() })
	}

	fw := loadLinkFirewalls(t, f, res, spaces, up, engines)

	sg := stageGateway(t, gwRes)
	gwStart(t, filepath.Join(sg.dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	api := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	gw := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	gwWaitReady(t, api, gw+"/health")

	// ask sends member m's chat request and returns the host that answered.
	ask := func(t *testing.T, m string) string {
		t.Helper()
		c := gwDo(t, api, "POST", gw+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + keys[m]}, gwChatBody)
		var got struct{ Host, Member string }
		if c.status != 200 || json.Unmarshal([]byte(c.body), &got) != nil || got.Member != m {
			t.Fatalf("member %s: %d %q, want 200 from an engine that knows the member", m, c.status, c.body)
		}
		return got.Host
	}

	home := map[string]string{}
	t.Run("each member sticks to one engine", func(t *testing.T) {
		served := map[string]int{}
		for round := 0; round < 4; round++ {
			for _, m := range fleetMembers {
				h := ask(t, m)
				if prev, ok := home[m]; ok && prev != h {
					t.Errorf("member %s went to host %s, then to %s", m, prev, h)
				}
				home[m] = h
				served[h]++
			}
		}
		if served["b"] == 0 || served["c"] == 0 {
			t.Errorf("requests per host %v: the members should be spread over both engines", served)
		}
		t.Logf("members by host: %v", home)
	})

	t.Run("a request an engine took is not sent to another", func(t *testing.T) {
		// The engine reads the request, then closes the connection: it
		// may have started the generation, so the gateway must not run it
		// again elsewhere; the member hears the model is away.
		m := fleetMembers[0]
		c := gwDo(t, api, "POST", gw+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + keys[m], "X-Test-Hang-Up": "1"}, gwChatBody)
		if c.status != 503 || !strings.Contains(c.body, `"model_loading"`) {
			t.Errorf("member %s's request to an engine that hung up: %d %q, want 503 model_loading", m, c.status, c.body)
		}
		for name, fe := range engines {
			fe.mu.Lock()
			n := fe.hangups
			fe.mu.Unlock()
			if want := map[bool]int{true: 1, false: 0}[name == home[m]]; n != want {
				t.Errorf("host %s's engine took the request %d times, want %d (member %s lives on %s)", name, n, want, m, home[m])
			}
		}
	})

	t.Run("the engines are closed off the link", func(t *testing.T) {
		fw.checkClosed(t)
	})

	t.Run("a draining host's members move at once, its streams finish", func(t *testing.T) {
		fw.drain(t, api, gw, keys, home, ask)
	})

	t.Run("a silent host's members move to the other", func(t *testing.T) {
		// Host b drops every reply, as a host without power answers
		// nothing: connections to it time out rather than being refused.
		ipCmd := needCommand(t, "ip")
		if out, err := exec.Command(ipCmd, "-n", spaces["b"], "route", "replace", "blackhole", f.GatewayHost.Address.String()+"/32").CombinedOutput(); err != nil {
			t.Fatalf("ip route replace blackhole: %v\n%s", err, out)
		}
		for _, m := range fleetMembers {
			start := time.Now()
			h := ask(t, m)
			took := time.Since(start)
			t.Logf("member %s (of host %s): answered by %s in %v", m, home[m], h, took.Round(time.Millisecond))
			if h != "c" {
				t.Errorf("member %s reached host %s while b is down", m, h)
			}
			if took > up.ConnectTimeout+2*time.Second {
				t.Errorf("member %s waited %v; the connect timeout is %v", m, took, up.ConnectTimeout)
			}
			if home[m] == "c" && took > time.Second {
				t.Errorf("member %s of host c waited %v: c's members must not wait for b", m, took)
			}
		}
	})

	t.Run("engines answer only the internal key", func(t *testing.T) {
		for name, fe := range engines {
			if n := fe.keylessRequests(); n != 0 {
				t.Errorf("host %s's engine got %d requests without the internal key through the gateway", name, n)
			}
		}
		// From the gateway host, without the gateway: refused.
		c := gwDo(t, &http.Client{Timeout: 5 * time.Second}, "POST", "http://"+up.Servers[1].Address.String()+"/v1/chat/completions", nil, gwChatBody)
		if c.status != 401 {
			t.Errorf("a request to host c's engine without the key got %d, want 401", c.status)
		}
		// Each host's engine has a key of its own: b's key, read on b,
		// opens nothing on c. Both answered the gateway above, so each
		// hop sent its own host's key.
		if engines["b"].key == engines["c"].key {
			t.Fatal("hosts b and c share one engine key")
		}
		c = gwDo(t, &http.Client{Timeout: 5 * time.Second}, "POST", "http://"+up.Servers[1].Address.String()+"/v1/chat/completions",
			map[string]string{"Authorization": "Bearer " + engines["b"].key}, gwChatBody)
		if c.status != 401 {
			t.Errorf("host b's key at host c's engine got %d, want 401", c.status)
		}
	})
}

// TestFleetEngineOpenOnLink: an engine on a host other than the gateway
// host that no route reaches would listen on the link with no key; the
// build refuses it at its block.
func TestFleetEngineOpenOnLink(t *testing.T) {
	path, _, _ := fleetRoutingBlueprint(t, 8443, 8080, 4180)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	spare := `  engine "vllm" "spare" {
    model = model.m
    image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
    port  = 8001
    max_model_len = 32768
  }
`
	text := strings.Replace(string(src), "host \"b\" {\n", "host \"b\" {\n"+spare, 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(text[:strings.Index(text, `engine "vllm" "spare"`)], "\n") + 1
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	_, diags := pipeline.BuildFleet(p, path, lang.Inputs{})
	errs := diags.Errs()
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", diags)
	}
	d := errs[0].(*hcl.Diagnostic)
	if d.Summary != "Engine open on the link" || d.Subject == nil || d.Subject.Start.Line != line {
		t.Errorf("got %q at %v, want \"Engine open on the link\" at line %d", d.Summary, d.Subject, line)
	}
}

// TestFleetSharedEngineKey: an api_key of the blueprint's own that two
// hosts' engines share would let a key read on one host open the other's
// engine; the build refuses it at the second host's key.
func TestFleetSharedEngineKey(t *testing.T) {
	path, _, _ := fleetRoutingBlueprint(t, 8443, 8080, 4180)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "shared.key"), []byte("sk-shared-0123456789abcdef0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(src), "    max_model_len     = 32768\n", "    max_model_len     = 32768\n    api_key           = secret_file(\"shared.key\")\n")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	second := strings.LastIndex(text, `api_key           = secret_file("shared.key")`)
	line := strings.Count(text[:second], "\n") + 1
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	_, diags := pipeline.BuildFleet(p, path, lang.Inputs{})
	errs := diags.Errs()
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", diags)
	}
	d := errs[0].(*hcl.Diagnostic)
	if d.Summary != "One engine key on two hosts" || d.Subject == nil || d.Subject.Start.Line != line {
		t.Errorf("got %q at %v, want \"One engine key on two hosts\" at line %d", d.Summary, d.Subject, line)
	}
}

// TestFleetKeysDerivedOnce: the fleet's engine keys are derived once, before
// any host compiles, so the derivation's warning about an engine that
// checks no key (a NIM on the gateway host) is reported once, not again
// when the gateway host compiles.
func TestFleetKeysDerivedOnce(t *testing.T) {
	path, _, _ := fleetRoutingBlueprint(t, 8443, 8080, 4180)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "ngc.secret"), []byte("nvapi-0123456789abcdef0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	// TEST FIXTURE: the all-zero digest is no real image.
	nim := `  engine "nim" "ops" {
    model         = model.m
    image         = "nvcr.io/nim/qwen/qwen3-30b-a3b:1.13.1@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    port          = 8003
    max_model_len = 16384
    model_from    = "image"
    model_profile = "EXAMPLE-profile-id"
    ngc_api_key   = secret_file("ngc.secret")
  }
`
	text := strings.Replace(string(src), "host \"gw\" {\n", "host \"gw\" {\n"+nim, 1)
	text = strings.Replace(text, "  route \"/v1/\" {\n", "  route \"/ops/v1/\" {\n    engine = engine.nim.ops\n  }\n  route \"/v1/\" {\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	res, diags := pipeline.BuildFleet(p, path, lang.Inputs{})
	if diags.HasErrors() || res == nil {
		t.Fatalf("the fleet did not build: %v", diags.Errs())
	}
	open := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && d.Summary == "Engine open to the host" {
			open++
		}
	}
	if open != 1 {
		t.Errorf("the warning about the keyless NIM was reported %d times, want once: %v", open, diags)
	}
}

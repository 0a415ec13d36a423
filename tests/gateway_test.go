package tests

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/modules/usage"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

// The paths of the rendered gateway configs that cannot stay as they are in
// a test: the appliance's folders, the nginx image's temp folder, the
// inner hop's socket and the drain flag move into the test's folder, and
// listeners bind 127.0.0.1 instead of every address. Nothing else changes.
const (
	gwInnerSocket = "/run/sovereign-gateway-inner.sock"
	gwAdminSocket = "/run/sovereign-gateway-admin.sock" // with a metrics block
)

var gwListenPort = regexp.MustCompile(`(?m)^(\s*listen )(\d+)( |;)`)

// stagedGateway is a build's gateway files written into a scratch folder
// with those paths rewritten, ready for nginx and oauth2-proxy to run.
type stagedGateway struct {
	dir        string
	nginxConf  string
	oauth2Conf string
	oauth2Env  []string
	drainFlag  string
	usageLog   string            // "" without a metrics block
	counted    string            // the link mtail reads the usage log through
	rootfs     map[string][]byte // by absolute appliance path
}

func stageGateway(t *testing.T, res *pipeline.Result) *stagedGateway {
	t.Helper()
	dir := t.TempDir()
	// nginx's workers run unprivileged: they must reach the inner socket
	// and stat the drain flag in here (t.TempDir makes folders 0700).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sg := &stagedGateway{dir: dir, drainFlag: filepath.Join(dir, "drain"), rootfs: map[string][]byte{}}
	root := filepath.Join(dir, "root")
	for _, f := range res.Rootfs {
		sg.rootfs[f.Path] = f.Contents
		if !strings.HasPrefix(f.Path, "/etc/sovereign/") {
			continue
		}
		p := filepath.Join(root, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		contents := f.Contents
		switch f.Path {
		case gateway.NginxConf:
			s := string(contents)
			s = gwReplace(t, s, "/etc/sovereign/", root+"/etc/sovereign/")
			s = gwReplace(t, s, "/var/cache/nginx/", filepath.Join(dir, "cache")+"/")
			s = gwReplace(t, s, gwInnerSocket, filepath.Join(dir, "inner.sock"))
			s = strings.ReplaceAll(s, gwAdminSocket, filepath.Join(dir, "admin.sock"))
			s = strings.ReplaceAll(s, gateway.HopSocketPrefix, filepath.Join(dir, "hop-"))
			s = gwReplace(t, s, units.DrainFlag, sg.drainFlag)
			if strings.Contains(s, usage.LogDir+"/") {
				// The usage log, with a metrics block: nginx opens it at start.
				sg.usageLog = filepath.Join(dir, "usage", filepath.Base(usage.LogFile))
				s = strings.ReplaceAll(s, usage.LogDir+"/", filepath.Dir(sg.usageLog)+"/")
			}
			if !gwListenPort.MatchString(s) {
				t.Fatal("nginx.conf has no TCP listen directive to bind to 127.0.0.1")
			}
			s = gwListenPort.ReplaceAllString(s, "${1}127.0.0.1:${2}${3}")
			contents = []byte(s)
			sg.nginxConf = p
		case gateway.OAuth2Conf:
			contents = []byte(gwReplace(t, string(contents), "/etc/sovereign/", root+"/etc/sovereign/"))
			sg.oauth2Conf = p
		case gateway.OAuth2Env:
			for _, line := range strings.Split(strings.TrimSpace(string(contents)), "\n") {
				sg.oauth2Env = append(sg.oauth2Env, line)
			}
		}
		if err := os.WriteFile(p, contents, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	if sg.nginxConf == "" || sg.oauth2Conf == "" || len(sg.oauth2Env) != 2 {
		t.Fatalf("the build has no complete gateway (nginx.conf %q, oauth2-proxy.cfg %q, %d secrets)", sg.nginxConf, sg.oauth2Conf, len(sg.oauth2Env))
	}
	for _, d := range []string{filepath.Join(dir, "cache"), filepath.Join(dir, "usage")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range res.Tree.Links {
		if l.Path == usage.CountedLink {
			sg.counted = filepath.Join(dir, "usage", filepath.Base(l.Path))
			if err := os.Symlink(l.Target, sg.counted); err != nil {
				t.Fatal(err)
			}
		}
	}
	if (sg.usageLog == "") != (sg.counted == "") {
		t.Fatalf("usage log %q without the link mtail reads it through (%q), or the other way round", sg.usageLog, sg.counted)
	}
	return sg
}

func gwReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("rendered config does not contain %q; the test's rewrite list is stale", old)
	}
	return strings.ReplaceAll(s, old, new)
}

// requireNJS skips (or under CI=true fails) a test whose gateway hashes keys
// when nginx's njs module (Debian's libnginx-mod-http-js) is missing.
func requireNJS(t *testing.T) {
	t.Helper()
	const module = "/usr/lib/nginx/modules/ngx_http_js_module.so"
	if _, err := os.Stat(module); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (apt-get install libnginx-mod-http-js; CI=true: peer checks never skip)", module, err)
		}
		t.Skipf("%s: %v (apt-get install libnginx-mod-http-js)", module, err)
	}
}

// nginxArgs runs nginx on the staged config: prefix, error log and pid in
// the scratch folder.
func (sg *stagedGateway) nginxArgs(extra ...string) []string {
	global := "pid " + filepath.Join(sg.dir, "nginx.pid") + ";"
	if len(extra) > 0 {
		global += " " + strings.Join(extra, " ")
	}
	return []string{"-p", sg.dir, "-e", filepath.Join(sg.dir, "error.log"), "-c", sg.nginxConf, "-g", global}
}

// checkGatewayConfigs runs `nginx -t` (Debian's nginx) and `oauth2-proxy
// --config-test` over a build's gateway.
func checkGatewayConfigs(t *testing.T, res *pipeline.Result) {
	t.Helper()
	sg := stageGateway(t, res)
	nginx := peers.Tool(t, "nginx")
	out, err := exec.Command(nginx, append(sg.nginxArgs(), "-t")...).CombinedOutput()
	t.Logf("peer check: nginx -t %s", sg.nginxConf)
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
	oauth2 := peers.Tool(t, "oauth2-proxy")
	cmd := exec.Command(oauth2, "--config", sg.oauth2Conf, "--config-test")
	cmd.Env = append(os.Environ(), sg.oauth2Env...)
	out, err = cmd.CombinedOutput()
	t.Logf("peer check: oauth2-proxy --config-test %s", sg.oauth2Conf)
	if err != nil || !strings.Contains(string(out), "configuration is valid") {
		t.Errorf("oauth2-proxy --config-test: %v\n%s", err, out)
	}
}

// TestGatewayConfigsValidate runs the real nginx and oauth2-proxy checks over
// the gateways of the reference blueprints and of the end-to-end blueprint
// (which restricts a member to some models, a branch the references lack).
func TestGatewayConfigsValidate(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			_, res := build(t, c)
			if res.Blueprint.Gateway == nil {
				t.Skip("no gateway")
			}
			checkGatewayConfigs(t, res)
		})
	}
	t.Run("end-to-end", func(t *testing.T) {
		requireNJS(t)
		fx := newGatewayBlueprint(t, "http://127.0.0.1:1", 0, 0)
		_, res := build(t, blueprintCase{name: "gateway", path: fx.path})
		checkGatewayConfigs(t, res)
	})
}

// gatewayBlueprint is a blueprint written for the end-to-end test: one engine
// (the fake one), three members, loopback ports and a test certificate.
type gatewayBlueprint struct {
	path                      string
	httpsPort, httpPort, auth int
	alice, bob, dave          string // API keys; dave's is in the blueprint only as a hash
	caCert                    []byte
	clientID, clientSecret    string
	cookieSecret, tlsKey      string
}

func gwPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func newGatewayBlueprint(t *testing.T, issuer string, enginePort, fastPort int) *gatewayBlueprint {
	t.Helper()
	dir := t.TempDir()
	if enginePort == 0 {
		enginePort, fastPort = 18000, 18001
	}
	fx := &gatewayBlueprint{
		httpsPort: gwPort(t), httpPort: gwPort(t), auth: gwPort(t),
		alice:    "sk-test-alice-" + gwRandomHex(t),
		bob:      "sk-test-bob-" + gwRandomHex(t),
		dave:     "sk-test-dave-" + gwRandomHex(t),
		clientID: "sovereign-test", clientSecret: "client-secret-" + gwRandomHex(t),
	}
	cert, key := gwSelfSignedCert(t)
	fx.caCert = cert
	// The cookie secret, and a line from the middle of the TLS key.
	fx.cookieSecret, fx.tlsKey = gwRandomHex(t), strings.Split(string(key), "\n")[1]
	files := map[string]string{
		"cert.pem":      string(cert),
		"key.pem":       string(key),
		"cookie.secret": fx.cookieSecret, // 32 hex characters: 32 bytes raw, 24 decoded
		"client.secret": fx.clientSecret,
		"alice.key":     fx.alice,
		"bob.key":       fx.bob,
		"main.hcl": fmt.Sprintf(`
appliance "gw" {
  hardware = "dgx-station-gb300"
  hostname = "gateway-test"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGatewayTestKey000000000000000000000000000 test"]
  }
}

model "m" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model                  = model.m
  served_model_name      = "qwen3-30b"
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port                   = %d
  max_model_len          = 32768
  gpu_memory_utilization = 0.45
}

engine "vllm" "fast" {
  model                  = model.m
  served_model_name      = "qwen3-30b-fast"
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port                   = %d
  max_model_len          = 32768
  gpu_memory_utilization = 0.45
}

gateway {
  domain            = "127.0.0.1"
  https_port        = %d
  http_port         = %d
  auth_port         = %d
  cookie_secret     = secret_file("cookie.secret")
  drain_retry_after = "45s"

  tls {
    certificate = file("cert.pem")
    key         = secret_file("key.pem")
  }
  oidc {
    issuer        = %q
    client_id     = %q
    client_secret = secret_file("client.secret")
  }
  # The backstop: 80 requests at once for everyone together, then one a
  # second. The subtests stay well below; the last one exhausts it.
  rate_limit {
    requests_per_minute = 60
    burst               = 80
  }

  member "alice" {
    email               = "alice@example.org"
    api_key             = secret_file("alice.key")
    requests_per_minute = 6000
    burst               = 100
  }
  # Bob's bucket holds two requests and refills once a minute.
  member "bob" {
    email               = "bob@example.org"
    api_key             = secret_file("bob.key")
    requests_per_minute = 1
    burst               = 1
    models              = ["qwen3-30b"]
  }
  member "carol" {
    email = "carol@example.org"
  }
  # Dave's key is here only as its SHA-256; nginx hashes bearer tokens (njs).
  member "dave" {
    email          = "dave@example.org"
    api_key_sha256 = "%x"
  }

  # Both engines by the request's model (njs), and the second by path too:
  # /fast/v1/… reaches it as /v1/….
  route "/v1/" {
    engines = [engine.vllm.main, engine.vllm.fast]
  }
  route "/fast/v1/" {
    engine = engine.vllm.fast
  }
}
`, enginePort, fastPort, fx.httpsPort, fx.httpPort, fx.auth, issuer, fx.clientID, sha256.Sum256([]byte(fx.dave))),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fx.path = filepath.Join(dir, "main.hcl")
	return fx
}

func gwRandomHex(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func gwSelfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// gwEngine stands in for vLLM: it answers /v1/ only with the internal key
// (as vLLM's --api-key does), and streams chat completions as SSE. A request
// with X-Test-Stream: ID is held after each event until the test calls
// release(ID), so the test can prove that events cross the gateway one at a
// time, and keep a stream in flight while it raises the drain flag.
type gwEngine struct {
	key string
	srv *http.Server
	url string

	mu    sync.Mutex
	seen  []gwEngineRequest
	gates map[string]chan struct{}
}

type gwEngineRequest struct {
	Path, Member, Authorization string
	RequestURI                  string // as the request line had it, not decoded or cleaned
}

const gwStreamEvents = 3

func gwStartEngine(t *testing.T, key string) *gwEngine {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fe := &gwEngine{key: key, gates: map[string]chan struct{}{}, url: "http://" + l.Addr().String()}
	fe.srv = &http.Server{Handler: http.HandlerFunc(fe.serve), ReadHeaderTimeout: 10 * time.Second}
	go fe.srv.Serve(l)
	t.Cleanup(func() { fe.srv.Close() })
	return fe
}

// stop closes the engine's port, as an engine still loading its model (or
// restarting) has it closed; serve opens it again on the same port.
func (fe *gwEngine) stop() { fe.srv.Close() }

func (fe *gwEngine) serveAgain(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", strings.TrimPrefix(fe.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fe.srv = &http.Server{Handler: http.HandlerFunc(fe.serve), ReadHeaderTimeout: 10 * time.Second}
	go fe.srv.Serve(l)
}

func (fe *gwEngine) port() int {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(fe.url, "http://"))
	var n int
	fmt.Sscan(p, &n)
	return n
}

func (fe *gwEngine) gate(id string) chan struct{} {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	if fe.gates[id] == nil {
		fe.gates[id] = make(chan struct{}, gwStreamEvents)
	}
	return fe.gates[id]
}

func (fe *gwEngine) release(id string) { fe.gate(id) <- struct{}{} }

func (fe *gwEngine) requests() []gwEngineRequest {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return append([]gwEngineRequest(nil), fe.seen...)
}

func (fe *gwEngine) serve(w http.ResponseWriter, r *http.Request) {
	fe.mu.Lock()
	fe.seen = append(fe.seen, gwEngineRequest{Path: r.URL.Path, Member: r.Header.Get("X-Sovereign-Member"), Authorization: r.Header.Get("Authorization"), RequestURI: r.RequestURI})
	fe.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/v1/") && r.Header.Get("Authorization") != "Bearer "+fe.key {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"Unauthorized"}`)
		return
	}
	switch r.URL.Path {
	case "/v1/models":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"qwen3-30b","object":"model"}]}`)
	case "/v1/chat/completions":
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		id := r.Header.Get("X-Test-Stream")
		for i := 0; i < gwStreamEvents; i++ {
			if i > 0 && id != "" {
				select {
				case <-fe.gate(id):
				case <-r.Context().Done():
					return
				case <-time.After(30 * time.Second): // a bound, so a broken test ends
					return
				}
			}
			fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"token %d\"}}]}\n\n", i)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	default:
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			http.NotFound(w, r)
			return
		}
		// /health, /metrics (vLLM routes on the raw path): must never be
		// reached through the gateway.
		io.WriteString(w, "engine internals\n")
	}
}

// gwProcess runs a peer in the background until the test ends.
type gwProcess struct {
	cmd  *exec.Cmd
	log  string
	stop func() // ends the process (idempotent); the test's cleanup calls it too
}

func gwStart(t *testing.T, logPath string, env []string, name string, args ...string) *gwProcess {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// nginx's master stops its workers on SIGTERM; the group kill
			// is the backstop, limited to the group this test started.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		})
	}
	p := &gwProcess{cmd: cmd, log: logPath, stop: stop}
	t.Cleanup(func() {
		stop()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s log:\n%s", filepath.Base(name), b)
		}
	})
	return p
}

// gwWaitReady polls url until it answers 200, at most 200 times 50 ms apart.
func gwWaitReady(t *testing.T, c *http.Client, url string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

type gwCall struct {
	status int
	header http.Header
	body   string
}

func gwDo(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) gwCall {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return gwCall{resp.StatusCode, resp.Header, string(b)}
}

func gwErrorCode(t *testing.T, c gwCall) string {
	t.Helper()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(c.body), &e); err != nil {
		t.Errorf("body is not JSON (status %d): %q", c.status, c.body)
	}
	return e.Error.Code
}

const gwChatBody = `{"model":"qwen3-30b","stream":true,"messages":[{"role":"user","content":"hi"}]}`

// TestGatewayEndToEnd runs the rendered gateway — Debian's nginx and the
// pinned oauth2-proxy on the configs sovereign wrote — in front of a fake
// streaming engine and an in-process OIDC issuer, all on 127.0.0.1, and
// checks what members and strangers get.
func TestGatewayEndToEnd(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	oauth2 := peers.Tool(t, "oauth2-proxy")
	requireNJS(t)

	// The engine's key is only known after the build; the fake engine
	// learns it then.
	fe := gwStartEngine(t, "")
	fast := gwStartEngine(t, "")
	is := newTestIssuer(t, "sovereign-test", "")
	fx := newGatewayBlueprint(t, is.URL, fe.port(), fast.port())
	is.ClientSecret = fx.clientSecret
	_, res := build(t, blueprintCase{name: "gateway", path: fx.path})
	sg := stageGateway(t, res)

	// The engine's key: what the vLLM unit reads (VLLM_API_KEY), and what
	// only the gateway's inner hop sends.
	env := string(sg.rootfs[units.SecretsDir+"/vllm-main.env"])
	key, ok := strings.CutPrefix(strings.TrimSpace(env), "VLLM_API_KEY=")
	if !ok || len(key) < 32 {
		t.Fatalf("the engine has no internal key: %q", env)
	}
	if !bytes.Contains(sg.rootfs["/etc/containers/systemd/vllm-main.container"], []byte("EnvironmentFile="+units.SecretsDir+"/vllm-main.env")) {
		t.Fatal("the vLLM unit does not read its key file")
	}
	fe.key = key
	// config.bu and the manifest are for people to read and diff: no secret
	// of the gateway may show there.
	for _, secret := range []string{fx.alice, fx.bob, key, fx.clientSecret, fx.cookieSecret, fx.tlsKey} {
		if bytes.Contains(res.Butane, []byte(secret)) || bytes.Contains(res.Manifest, []byte(secret)) {
			t.Errorf("config.bu or manifest.json shows the secret %q", secret)
		}
	}
	fastEnv := strings.TrimSpace(string(sg.rootfs[units.SecretsDir+"/vllm-fast.env"]))
	fast.key = strings.TrimPrefix(fastEnv, "VLLM_API_KEY=")
	if fast.key == key || len(fast.key) < 32 {
		t.Fatalf("engine fast's key %q: each engine needs its own", fast.key)
	}

	oauthProc := gwStart(t, filepath.Join(sg.dir, "oauth2-proxy.log"), append(os.Environ(), sg.oauth2Env...), oauth2, "--config", sg.oauth2Conf)
	nginxProc := gwStart(t, filepath.Join(sg.dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(fx.caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	api := &http.Client{Transport: transport, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	plain := &http.Client{CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	gw := fmt.Sprintf("https://127.0.0.1:%d", fx.httpsPort)
	gwWaitReady(t, plain, fmt.Sprintf("http://127.0.0.1:%d/ping", fx.auth))
	gwWaitReady(t, api, gw+"/health")

	bearer := func(k string) map[string]string { return map[string]string{"Authorization": "Bearer " + k} }

	t.Run("health is public, engine internals are not", func(t *testing.T) {
		c := gwDo(t, api, "GET", gw+"/health", nil, "")
		if c.status != 200 || c.body != "ok\n" {
			t.Errorf("GET /health: %d %q", c.status, c.body)
		}
		if c.header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS header")
		}
		for _, p := range []string{"/metrics", "/v1/../metrics", "/engine/metrics", "/v1/../health"} {
			c := gwDo(t, api, "GET", gw+p, bearer(fx.alice), "")
			want := 404
			if strings.HasSuffix(p, "/health") {
				want = 200 // the gateway's own, as for /health
			}
			if c.status != want || strings.Contains(c.body, "engine internals") {
				t.Errorf("GET %s with a member key: %d %q, want %d from the gateway itself", p, c.status, c.body, want)
			}
		}
	})

	t.Run("only normalised /v1/ paths reach an engine", func(t *testing.T) {
		// vLLM routes on the raw path and serves Prometheus at /metrics:
		// a path that nginx normalises into a route must reach the engine
		// normalised, for the route by path and the route by model alike.
		beforeMain, beforeFast := len(fe.requests()), len(fast.requests())
		for _, tc := range []struct{ path, engineSaw string }{
			{"/metrics/../v1/embeddings", "/v1/embeddings"},     // by model (not a POST: the first engine)
			{"/metrics/..%2Fv1/embeddings", "/v1/embeddings"},   // %2F decoded, then resolved
			{"/metrics/%2e%2e/v1/embeddings", "/v1/embeddings"}, // encoded dots
			{"/x/..//v1//embeddings", "/v1/embeddings"},         // merged slashes
			{"/metrics/../fast/v1/models", "/v1/models"},        // by path
			{"/metrics/..%2Ffast/v1/models", "/v1/models"},      // by path, %2F
			{"/fast/v1/x/../models", "/v1/models"},              // inside the route
			{"/fast/v1/models%0Ax", "/v1/models%0Ax"},           // a decoded line feed is escaped again
			{"/v1/../metrics", ""},                              // leaves /v1/: the gateway's 404
			{"/v1/%2e%2e/metrics", ""},                          // encoded, same
			{"/fast/v1/..%2F..%2Fmetrics", ""},                  // same
			{"/fast/v1/../../v1/../metrics", ""},                // same
		} {
			c := gwDo(t, api, "GET", gw+tc.path, bearer(fx.alice), "")
			if strings.Contains(c.body, "engine internals") {
				t.Errorf("GET %s reached engine internals: %d %q", tc.path, c.status, c.body)
			}
			seen := append(fe.requests()[beforeMain:], fast.requests()[beforeFast:]...)
			beforeMain, beforeFast = len(fe.requests()), len(fast.requests())
			switch {
			case tc.engineSaw == "" && (c.status != 404 || len(seen) != 0):
				t.Errorf("GET %s: %d %q, engines saw %+v; want the gateway's 404 and no engine", tc.path, c.status, c.body, seen)
			case tc.engineSaw != "" && (len(seen) != 1 || seen[0].RequestURI != tc.engineSaw):
				t.Errorf("GET %s: %d, engines saw %+v; want one request for %s", tc.path, c.status, seen, tc.engineSaw)
			}
		}
	})

	t.Run("plain http redirects to https", func(t *testing.T) {
		c := gwDo(t, plain, "GET", fmt.Sprintf("http://127.0.0.1:%d/v1/models", fx.httpPort), nil, "")
		// 308: a client repeats the POST with its body (301 turns it into a GET).
		c = gwDo(t, plain, "POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions?x=1", fx.httpPort), nil, gwChatBody)
		if want := gw + "/v1/chat/completions?x=1"; c.status != 308 || c.header.Get("Location") != want {
			t.Errorf("got %d Location %q, want 308 %q", c.status, c.header.Get("Location"), want)
		}
	})

	t.Run("anonymous browser is sent to sign in", func(t *testing.T) {
		c := gwDo(t, api, "GET", gw+"/", map[string]string{"Accept": "text/html"}, "")
		if c.status != 302 || !strings.Contains(c.header.Get("Location"), "/oauth2/start") {
			t.Errorf("got %d Location %q, want 302 to /oauth2/start", c.status, c.header.Get("Location"))
		}
	})

	t.Run("strangers get 401 JSON", func(t *testing.T) {
		for name, h := range map[string]map[string]string{
			"no key":           nil,
			"wrong key":        bearer("sk-not-a-member-key-0000000000000000000000"),
			"key, case bent":   bearer(strings.ToUpper(fx.alice)),
			"key as a prefix":  bearer(fx.alice[:len(fx.alice)-1]),
			"hashed key, bent": bearer(fx.dave + "x"),
			"the hash as key":  bearer(fmt.Sprintf("%x", sha256.Sum256([]byte(fx.dave)))),
			"forged member":    {"Authorization": "Bearer sk-wrong-wrong-wrong-wrong-wrong-wrong", "X-Sovereign-Member": "alice"},
		} {
			c := gwDo(t, api, "POST", gw+"/v1/chat/completions", h, gwChatBody)
			if c.status != 401 || gwErrorCode(t, c) != "invalid_api_key" || !strings.HasPrefix(c.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: %d %q (WWW-Authenticate %q), want 401 invalid_api_key", name, c.status, c.body, c.header.Get("WWW-Authenticate"))
			}
		}
	})

	t.Run("a member key streams tokens unbuffered", func(t *testing.T) {
		arrivals := gwStream(t, api, gw, fx.alice, fe, "unbuffered", nil)
		t.Logf("SSE events arrived at %v after the request (each only after the test released the engine)", arrivals)
	})

	t.Run("the engine sees the member and only the internal key", func(t *testing.T) {
		before := len(fe.requests())
		c := gwDo(t, api, "POST", gw+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + fx.bob, "X-Sovereign-Member": "alice"}, gwChatBody)
		if c.status != 200 {
			t.Fatalf("bob POST /v1/chat/completions: %d %q", c.status, c.body)
		}
		got := fe.requests()[before:]
		if len(got) != 1 || got[0].Member != "bob" || got[0].Authorization != "Bearer "+key {
			t.Errorf("engine saw %+v, want one request from member bob with the internal key", got)
		}
		// Directly, without the internal key, the engine refuses.
		for _, h := range []map[string]string{nil, bearer(fx.alice)} {
			if c := gwDo(t, plain, "GET", fe.url+"/v1/models", h, ""); c.status != 401 {
				t.Errorf("engine port without the internal key (%v): %d, want 401", h, c.status)
			}
		}
	})

	t.Run("the scheme of Authorization is case-insensitive", func(t *testing.T) {
		// RFC 9110, section 11.1: "bearer KEY" is as valid as "Bearer KEY".
		for _, h := range []string{"bearer " + fx.alice, "BEARER " + fx.alice, "Bearer  " + fx.alice, "bEaReR " + fx.dave} {
			c := gwDo(t, api, "GET", gw+"/fast/v1/models", map[string]string{"Authorization": h}, "")
			if c.status != 200 {
				t.Errorf("Authorization %q…: %d %q, want 200", h[:10], c.status, c.body)
			}
		}
	})

	t.Run("a key held as a hash works like any key", func(t *testing.T) {
		before := len(fe.requests())
		c := gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.dave), gwChatBody)
		if c.status != 200 {
			t.Fatalf("dave POST /v1/chat/completions: %d %q", c.status, c.body)
		}
		if got := fe.requests()[before:]; len(got) != 1 || got[0].Member != "dave" {
			t.Errorf("engine saw %+v, want member dave", got)
		}
	})

	t.Run("routes by path, and a member limited to some models", func(t *testing.T) {
		before := len(fast.requests())
		c := gwDo(t, api, "GET", gw+"/fast/v1/models", bearer(fx.alice), "")
		if c.status != 200 {
			t.Fatalf("alice GET /fast/v1/models: %d %q", c.status, c.body)
		}
		got := fast.requests()[before:]
		if len(got) != 1 || got[0].Path != "/v1/models" || got[0].Member != "alice" || got[0].Authorization != "Bearer "+fast.key {
			t.Errorf("engine fast saw %+v, want /v1/models from alice with its own key", got)
		}
		// Bob may use qwen3-30b only, which engine main serves.
		before = len(fast.requests())
		c = gwDo(t, api, "GET", gw+"/fast/v1/models", bearer(fx.bob), "")
		if c.status != 403 || gwErrorCode(t, c) != "model_not_allowed" {
			t.Errorf("bob on engine fast: %d %q, want 403 model_not_allowed", c.status, c.body)
		}
		if n := len(fast.requests()) - before; n != 0 {
			t.Errorf("engine fast was reached %d times by bob", n)
		}
	})

	t.Run("routes by the request's model", func(t *testing.T) {
		c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.alice), "")
		if c.status != 200 || !strings.Contains(c.body, `"id":"qwen3-30b"`) || !strings.Contains(c.body, `"id":"qwen3-30b-fast"`) {
			t.Errorf("GET /v1/models: %d %q, want both models", c.status, c.body)
		}
		for _, tc := range []struct {
			model  string
			engine *gwEngine
		}{{"qwen3-30b-fast", fast}, {"qwen3-30b", fe}} {
			before, beforeOther := len(tc.engine.requests()), len(fe.requests())+len(fast.requests())
			body := strings.Replace(gwChatBody, `"qwen3-30b"`, `"`+tc.model+`"`, 1)
			c := gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.alice), body)
			if c.status != 200 || !strings.Contains(c.body, "[DONE]") {
				t.Fatalf("model %s: %d %q", tc.model, c.status, c.body)
			}
			got := tc.engine.requests()[before:]
			if len(got) != 1 || got[0].Path != "/v1/chat/completions" || got[0].Member != "alice" || got[0].Authorization != "Bearer "+tc.engine.key {
				t.Errorf("model %s: its engine saw %+v", tc.model, got)
			}
			if n := len(fe.requests()) + len(fast.requests()) - beforeOther; n != 1 {
				t.Errorf("model %s reached %d engines", tc.model, n)
			}
		}
		before := len(fe.requests()) + len(fast.requests())
		c = gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.alice), strings.Replace(gwChatBody, `"qwen3-30b"`, `"gpt-4"`, 1))
		if c.status != 404 || gwErrorCode(t, c) != "model_not_found" {
			t.Errorf("unknown model: %d %q, want 404 model_not_found", c.status, c.body)
		}
		// Bob may use qwen3-30b only.
		c = gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.bob), strings.Replace(gwChatBody, `"qwen3-30b"`, `"qwen3-30b-fast"`, 1))
		if c.status != 403 || gwErrorCode(t, c) != "model_not_allowed" {
			t.Errorf("bob asking for qwen3-30b-fast: %d %q, want 403 model_not_allowed", c.status, c.body)
		}
		if n := len(fe.requests()) + len(fast.requests()) - before; n != 0 {
			t.Errorf("refused requests reached an engine %d times", n)
		}
	})

	t.Run("browser sign-in gives a session that works for the API", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second}
		is.SignInAs("carol@example.org")
		c := gwDo(t, browser, "GET", gw+"/", nil, "")
		if c.status != 200 || !strings.Contains(c.body, "as carol.") {
			t.Fatalf("after sign-in: %d %q, want the landing page for carol", c.status, c.body)
		}
		before := len(fe.requests())
		c = gwDo(t, browser, "POST", gw+"/v1/chat/completions", nil, gwChatBody)
		if c.status != 200 || !strings.Contains(c.body, "[DONE]") {
			t.Fatalf("carol's session on the API: %d %q", c.status, c.body)
		}
		if got := fe.requests()[before:]; len(got) != 1 || got[0].Member != "carol" {
			t.Errorf("engine saw %+v, want member carol", got)
		}
		// Someone the identity provider vouches for but who is no member
		// cannot finish signing in.
		jar2, _ := cookiejar.New(nil)
		stranger := &http.Client{Transport: transport, Jar: jar2, Timeout: 30 * time.Second}
		is.SignInAs("mallory@example.org")
		if c := gwDo(t, stranger, "GET", gw+"/", nil, ""); c.status == 200 {
			t.Errorf("a non-member signed in: %d %q", c.status, c.body)
		}
	})

	t.Run("a member over their limit gets 429, others do not", func(t *testing.T) {
		var limited *gwCall
		statuses := []int{}
		// Bob's bucket: burst 1 plus one request per minute. The earlier
		// subtest spent one; at most three more requests reach the limit.
		for i := 0; i < 3 && limited == nil; i++ {
			c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.bob), "")
			statuses = append(statuses, c.status)
			if c.status == 429 {
				limited = &c
			}
		}
		if limited == nil {
			t.Fatalf("bob was never limited: %v", statuses)
		}
		if limited.header.Get("Retry-After") != "60" || gwErrorCode(t, *limited) != "rate_limit_exceeded" {
			t.Errorf("429 with Retry-After %q and body %q, want 60 and rate_limit_exceeded", limited.header.Get("Retry-After"), limited.body)
		}
		if c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.alice), ""); c.status != 200 {
			t.Errorf("alice while bob is limited: %d, want 200", c.status)
		}
	})

	t.Run("drain: new requests 503, the stream in flight finishes", func(t *testing.T) {
		drained := false
		gwStream(t, api, gw, fx.alice, fe, "in-flight", func() {
			if err := os.WriteFile(sg.drainFlag, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			c := gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.alice), gwChatBody)
			if c.status != 503 || c.header.Get("Retry-After") != "45" || gwErrorCode(t, c) != "draining" {
				t.Errorf("while draining: %d Retry-After %q %q, want 503, 45, draining", c.status, c.header.Get("Retry-After"), c.body)
			}
			if c := gwDo(t, api, "GET", gw+"/health", nil, ""); c.status != 200 {
				t.Errorf("health while draining: %d", c.status)
			}
			drained = true
		})
		if !drained {
			t.Fatal("the drain check did not run")
		}
		if err := os.Remove(sg.drainFlag); err != nil {
			t.Fatal(err)
		}
		if c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.alice), ""); c.status != 200 {
			t.Errorf("after the drain flag is gone: %d, want 200", c.status)
		}
	})

	t.Run("an engine not answering yet gives 503 JSON, then serves", func(t *testing.T) {
		// An engine loading its model (up to hours) or restarting has its
		// port closed: members get a JSON 503 with Retry-After, which the
		// OpenAI SDKs retry, never nginx's HTML 502.
		fast.stop()
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/fast/v1/models", ""}, // by path
			{"POST", "/v1/chat/completions", strings.Replace(gwChatBody, `"qwen3-30b"`, `"qwen3-30b-fast"`, 1)}, // by model
		} {
			c := gwDo(t, api, tc.method, gw+tc.path, bearer(fx.alice), tc.body)
			if c.status != 503 || c.header.Get("Retry-After") != "30" || gwErrorCode(t, c) != "model_loading" || c.header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s while the engine is away: %d Retry-After %q %q, want 503 JSON model_loading, Retry-After 30", tc.method, tc.path, c.status, c.header.Get("Retry-After"), c.body)
			}
		}
		// The other engine is not affected.
		if c := gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.alice), gwChatBody); c.status != 200 {
			t.Errorf("engine main while fast is away: %d %q", c.status, c.body)
		}
		fast.serveAgain(t)
		if c := gwDo(t, api, "GET", gw+"/fast/v1/models", bearer(fx.alice), ""); c.status != 200 {
			t.Errorf("once the engine listens again: %d %q, want 200", c.status, c.body)
		}
	})

	t.Run("member keys work while the identity provider is away", func(t *testing.T) {
		// oauth2-proxy exits when the issuer is unreachable; API keys are
		// checked by nginx alone, so agents keep working.
		oauthProc.stop()
		if c := gwDo(t, api, "POST", gw+"/v1/chat/completions", bearer(fx.alice), gwChatBody); c.status != 200 {
			t.Errorf("alice's key without oauth2-proxy: %d %q", c.status, c.body)
		}
		// A browser is told that signing in is away, not nginx's HTML 502.
		c := gwDo(t, api, "GET", gw+"/oauth2/start?rd=%2F", nil, "")
		if c.status != 503 || c.header.Get("Retry-After") == "" || !strings.Contains(c.body, "Signing in is unavailable") {
			t.Errorf("sign-in without oauth2-proxy: %d Retry-After %q %q, want 503 saying so", c.status, c.header.Get("Retry-After"), c.body)
		}
		// Everyone else is unauthorized, in JSON, not a 5xx that a client
		// would retry.
		for name, h := range map[string]map[string]string{
			"no key":    nil,
			"wrong key": bearer("sk-not-a-member-key-0000000000000000000000"),
		} {
			c := gwDo(t, api, "POST", gw+"/v1/chat/completions", h, gwChatBody)
			if c.status != 401 || gwErrorCode(t, c) != "invalid_api_key" {
				t.Errorf("%s without oauth2-proxy: %d %q, want 401 invalid_api_key", name, c.status, c.body)
			}
		}
	})

	t.Run("the global limit backs every member's own", func(t *testing.T) {
		// Alice's own bucket holds 100 requests and refills 100 a second,
		// so the 429 that comes first is everyone's.
		var limited *gwCall
		for i := 0; i < 200 && limited == nil; i++ {
			c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.alice), "")
			if c.status == 429 {
				limited = &c
			} else if c.status != 200 {
				t.Fatalf("request %d: %d %q", i, c.status, c.body)
			}
		}
		if limited == nil || gwErrorCode(t, *limited) != "rate_limit_exceeded" {
			t.Fatalf("200 requests and no global 429: %+v", limited)
		}
		// Dave has used one request of his own 20, yet waits too.
		if c := gwDo(t, api, "GET", gw+"/v1/models", bearer(fx.dave), ""); c.status != 429 {
			t.Errorf("dave after the global limit: %d, want 429", c.status)
		}
	})

	// Nothing reached the engine but /v1/, and no log holds a member key.
	for _, r := range fe.requests() {
		if !strings.HasPrefix(r.Path, "/v1/") {
			t.Errorf("the engine was reached at %s through the gateway", r.Path)
		}
	}
	for _, p := range []*gwProcess{nginxProc, oauthProc} {
		b, _ := os.ReadFile(p.log)
		for _, k := range []string{fx.alice, fx.bob, key} {
			if bytes.Contains(b, []byte(k)) {
				t.Errorf("%s holds a secret key", p.log)
			}
		}
		if p == nginxProc && !bytes.Contains(b, []byte("member=alice ")) {
			t.Errorf("nginx's access log does not name the member:\n%s", b)
		}
	}
}

// gwStream sends a held streaming request as member key and reads it
// event by event: the engine sends event i+1 only after the test has read
// event i through the gateway, so a buffering gateway would never deliver
// the first event (and the read would hit the client's timeout). during
// runs after the first event, while the stream is in flight. It returns
// when each event arrived, for the record.
func gwStream(t *testing.T, c *http.Client, gw, key string, fe *gwEngine, id string, during func()) []time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", gw+"/v1/chat/completions", strings.NewReader(gwChatBody))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Test-Stream", id)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	r := bufio.NewReader(resp.Body)
	var arrivals []time.Duration
	for i := 0; i <= gwStreamEvents; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d: %v (buffered by the gateway?)", i, err)
		}
		if _, err := r.ReadString('\n'); err != nil { // the blank line
			t.Fatal(err)
		}
		arrivals = append(arrivals, time.Since(start).Round(time.Millisecond))
		if i == gwStreamEvents {
			if strings.TrimSpace(line) != "data: [DONE]" {
				t.Fatalf("last event %q, want [DONE]", line)
			}
			break
		}
		if want := fmt.Sprintf("token %d", i); !strings.Contains(line, want) {
			t.Fatalf("event %d is %q, want %q", i, line, want)
		}
		if i == 0 && during != nil {
			during()
		}
		fe.release(id)
	}
	return arrivals
}

// TestGatewayStartsBeforeEnginesAreHealthy: an engine's unit becomes active
// only once its model is loaded (Notify=healthy, up to hours), so nothing
// may order the gateway after one, directly or through another unit, nor
// make it require one. The units are those quadlet generates from the
// reference builds, and systemd-analyze verifies them.
func TestGatewayStartsBeforeEnginesAreHealthy(t *testing.T) {
	quadlet := peers.Tool(t, "quadlet")
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			out, res := build(t, c)
			if res.Blueprint.Gateway == nil || len(res.Blueprint.Engines) == 0 {
				t.Skip("no gateway in front of an engine")
			}
			rootfs := filepath.Join(out, output.RootfsDir)
			if c.name == referenceCases[0].name {
				peers.VerifyUnits(t, rootfs)
			}
			gen := t.TempDir()
			cmd := exec.Command(quadlet, "-no-kmsg-log", gen)
			cmd.Env = append(os.Environ(), "QUADLET_UNIT_DIRS="+filepath.Join(rootfs, "etc/containers/systemd"))
			t.Logf("peer check: quadlet generate %s", c.name)
			if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
				t.Fatalf("quadlet: %v\n%s", err, b)
			}
			deps := gwUnitDeps(t, gen, filepath.Join(rootfs, "etc/systemd/system"))
			const nginx = "gateway-nginx.service"
			if _, ok := deps[nginx]; !ok {
				t.Fatalf("quadlet generated no %s", nginx)
			}
			engines := map[string]bool{}
			for _, eng := range res.Blueprint.Engines {
				name := eng.Kind + "-" + eng.Name + ".service"
				if _, ok := deps[name]; !ok {
					t.Fatalf("quadlet generated no %s", name)
				}
				engines[name] = true
			}
			// Every unit nginx starts after, directly or not: After= of
			// a unit, and Before= of another that names it.
			after := map[string][]string{}
			for u, d := range deps {
				after[u] = append(after[u], d["After"]...)
				for _, b := range d["Before"] {
					after[b] = append(after[b], u)
				}
			}
			seen, todo := map[string]bool{}, []string{nginx}
			for len(todo) > 0 {
				u := todo[0]
				todo = todo[1:]
				for _, a := range after[u] {
					if engines[a] {
						t.Errorf("%s is ordered after %s (through %s): the gateway would stay dark while the model loads", nginx, a, u)
					}
					if !seen[a] {
						seen[a] = true
						todo = append(todo, a)
					}
				}
			}
			for _, key := range []string{"Requires", "Requisite", "BindsTo", "PartOf"} {
				for _, d := range deps[nginx][key] {
					if engines[d] {
						t.Errorf("%s has %s=%s", nginx, key, d)
					}
				}
			}
		})
	}
}

// gwUnitDeps reads the [Unit] dependency keys of every unit file in dirs:
// unit name → key → the units named.
func gwUnitDeps(t *testing.T, dirs ...string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.Contains(e.Name(), ".") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			deps := map[string][]string{}
			section := ""
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "[") {
					section = line
					continue
				}
				k, v, ok := strings.Cut(line, "=")
				if ok && section == "[Unit]" {
					deps[k] = append(deps[k], strings.Fields(v)...)
				}
			}
			out[e.Name()] = deps
		}
	}
	return out
}

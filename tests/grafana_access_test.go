package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// withMetrics adds a metrics block (body inside the braces) to the gateway
// blueprint, and the lock that lets the exporters without a public digest
// run by tag, as the reference blueprint's lock does.
func withMetrics(t *testing.T, fx *gatewayBlueprint, body string) {
	t.Helper()
	writeFile(t, fx.path, readString(t, fx.path)+"\nmetrics {\n"+body+"}\n", 0o600)
	var lock strings.Builder
	for _, img := range []string{decode.DefaultDCGMExporterImage, decode.DefaultMtailImage} {
		tag := img[strings.LastIndex(img, ":")+1:]
		fmt.Fprintf(&lock, "image %q {\n  tag      = %q\n  unpinned = \"no public digest observed for this tag\"\n}\n", img, tag)
	}
	writeFile(t, strings.TrimSuffix(fx.path, ".hcl")+".lock.hcl", lock.String(), 0o644)
}

// grafanaStandIn answers every request as Grafana would after its auth
// proxy signed the header's user in, and remembers who it saw. Grafana
// itself is not installable here; what is checked is what reaches it.
type grafanaStandIn struct {
	mu   sync.Mutex
	seen []grafanaRequest
}

type grafanaRequest struct {
	URI, Member, Email, Authorization, Host string
}

func (g *grafanaStandIn) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.seen = append(g.seen, grafanaRequest{r.RequestURI, r.Header.Get("X-Sovereign-Member"), r.Header.Get("X-Sovereign-Email"), r.Header.Get("Authorization"), r.Host})
	g.mu.Unlock()
	fmt.Fprintf(w, "grafana stand-in: signed in as %s\n", r.Header.Get("X-Sovereign-Member"))
}

func (g *grafanaStandIn) requests() []grafanaRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]grafanaRequest(nil), g.seen...)
}

// TestGrafanaForAdminsOnly runs the rendered gateway (Debian's nginx, the
// pinned oauth2-proxy, the in-process OIDC issuer) in front of a Grafana
// stand-in on the port the rendered config names, and checks that only the
// metrics block's admins, signed in with their browser, reach it, as the
// member their session names whatever headers they send.
func TestGrafanaForAdminsOnly(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	oauth2 := peers.Tool(t, "oauth2-proxy")
	requireNJS(t)

	is := newTestIssuer(t, "sovereign-test", "")
	fx := newGatewayBlueprint(t, is.URL, 0, 0)
	is.ClientSecret = fx.clientSecret
	withMetrics(t, fx, "  admins = [\"carol\"]\n")
	out, res := build(t, blueprintCase{name: "grafana", path: fx.path})

	// Grafana writes its links under the gateway's /grafana/.
	unit := readString(t, filepath.Join(out, "rootfs/etc/containers/systemd", metrics.GrafanaUnit))
	for _, want := range []string{
		fmt.Sprintf("GF_SERVER_ROOT_URL=https://127.0.0.1:%d/grafana/", fx.httpsPort),
		"GF_SERVER_SERVE_FROM_SUB_PATH=true", "GF_AUTH_PROXY_HEADER_NAME=X-Sovereign-Member", "GF_AUTH_ANONYMOUS_ENABLED=false",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %s:\n%s", metrics.GrafanaUnit, want, unit)
		}
	}

	sg := stageGateway(t, res)
	grafana := &grafanaStandIn{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	standIn := &http.Server{Handler: http.HandlerFunc(grafana.serve)}
	go standIn.Serve(l)
	t.Cleanup(func() { standIn.Close() })
	conf := gwReplace(t, readString(t, sg.nginxConf), fmt.Sprintf("server 127.0.0.1:%d;", metrics.GrafanaPort), "server "+l.Addr().String()+";")
	writeFile(t, sg.nginxConf, conf, 0o644)

	gwStart(t, filepath.Join(sg.dir, "oauth2-proxy.log"), append(os.Environ(), sg.oauth2Env...), oauth2, "--config", sg.oauth2Conf)
	gwStart(t, filepath.Join(sg.dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(fx.caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	anonymous := &http.Client{Transport: transport, CheckRedirect: noRedirect, Timeout: 30 * time.Second}
	gw := fmt.Sprintf("https://127.0.0.1:%d", fx.httpsPort)
	gwWaitReady(t, &http.Client{Timeout: 5 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/ping", fx.auth))
	gwWaitReady(t, anonymous, gw+"/health")
	signIn := func(email string) *http.Client {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second}
		is.SignInAs(email)
		return browser
	}
	forged := map[string]string{"X-Sovereign-Member": "carol", "X-Sovereign-Email": "carol@example.org", "X-WEBAUTH-USER": "carol"}

	t.Run("no session: the sign-in flow, back to /grafana/", func(t *testing.T) {
		for _, h := range []map[string]string{nil, forged} {
			c := gwDo(t, anonymous, "GET", gw+"/grafana/d/sovereign-overview", h, "")
			if c.status != 302 || !strings.HasSuffix(c.header.Get("Location"), "/oauth2/start?rd=%2Fgrafana%2F") {
				t.Errorf("anonymous GET /grafana/ (headers %v): %d %q, Location %q; want 302 to sign in", h, c.status, c.body, c.header.Get("Location"))
			}
		}
		if n := len(grafana.requests()); n != 0 {
			t.Errorf("Grafana saw %d anonymous requests", n)
		}
	})

	t.Run("an admin reaches Grafana as the session's member", func(t *testing.T) {
		browser := signIn("carol@example.org")
		c := gwDo(t, browser, "GET", gw+"/grafana/", nil, "")
		if c.status != 200 || c.body != "grafana stand-in: signed in as carol\n" {
			t.Fatalf("carol after sign-in: %d %q", c.status, c.body)
		}
		// A forged identity (another member, Grafana's usual header) does
		// not change who Grafana sees; a dot segment is resolved first.
		c = gwDo(t, browser, "GET", gw+"/grafana/x/../api/search?query=a%20b", map[string]string{
			"X-Sovereign-Member": "alice", "X-Sovereign-Email": "alice@example.org", "X-WEBAUTH-USER": "admin",
		}, "")
		if c.status != 200 || c.body != "grafana stand-in: signed in as carol\n" {
			t.Errorf("carol with forged headers: %d %q", c.status, c.body)
		}
		seen := grafana.requests()
		want := []grafanaRequest{
			{"/grafana/", "carol", "carol@example.org", "", "127.0.0.1:" + fmt.Sprint(fx.httpsPort)},
			{"/grafana/api/search?query=a%20b", "carol", "carol@example.org", "", "127.0.0.1:" + fmt.Sprint(fx.httpsPort)},
		}
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("Grafana saw %+v\nwant %+v", seen, want)
		}
	})

	t.Run("other members get 403 JSON", func(t *testing.T) {
		before := len(grafana.requests())
		bob := signIn("bob@example.org")
		for _, h := range []map[string]string{nil, forged} {
			c := gwDo(t, bob, "GET", gw+"/grafana/", h, "")
			if c.status != 403 || gwErrorCode(t, c) != "not_admin" {
				t.Errorf("bob (headers %v): %d %q, want 403 not_admin", h, c.status, c.body)
			}
		}
		// An API key is no browser session: not even an admin's would do,
		// and a member's key with a forged admin header gets 403 too.
		withKey := map[string]string{"Authorization": "Bearer " + fx.alice, "X-Sovereign-Member": "carol", "X-Sovereign-Email": "carol@example.org"}
		if c := gwDo(t, anonymous, "GET", gw+"/grafana/", withKey, ""); c.status != 403 || gwErrorCode(t, c) != "not_admin" {
			t.Errorf("alice's key with carol's name: %d %q, want 403 not_admin", c.status, c.body)
		}
		if n := len(grafana.requests()) - before; n != 0 {
			t.Errorf("Grafana saw %d requests from non-admins", n)
		}
	})

	t.Run("Prometheus is not exposed, Grafana away is 503", func(t *testing.T) {
		carol := signIn("carol@example.org")
		for _, p := range []string{"/prometheus/", "/api/v1/query?query=up", "/grafana/../api/v1/query?query=up"} {
			if c := gwDo(t, carol, "GET", gw+p, nil, ""); c.status != 404 {
				t.Errorf("carol GET %s: %d %q, want 404", p, c.status, c.body)
			}
		}
		standIn.Close()
		c := gwDo(t, carol, "GET", gw+"/grafana/", nil, "")
		if c.status != 503 || gwErrorCode(t, c) != "grafana_away" || c.header.Get("Retry-After") == "" {
			t.Errorf("Grafana down: %d %q, want 503 grafana_away with Retry-After", c.status, c.body)
		}
	})
}

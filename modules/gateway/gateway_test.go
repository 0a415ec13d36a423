package gateway_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/units"
)

// twoEngines is a gateway with what the reference blueprints leave out: two
// engines (one behind a path prefix), a member limited to one model, members
// sharing a limit, and non-default ports.
func twoEngines() *spec.Gateway {
	secret := func(v string) *spec.Secret { return &spec.Secret{Value: v} }
	main := &spec.Engine{Kind: "vllm", Name: "main", Port: 8000, ServedModelName: "qwen3-235b", APIKey: secret("sk-gw-main")}
	fast := &spec.Engine{Kind: "sglang", Name: "fast", Port: 30000, ServedModelName: "qwen3-30b", APIKey: secret("sk-gw-fast")}
	return &spec.Gateway{
		Domain: "llm.example.org", HTTPSPort: 8443, HTTPPort: 8080, AuthPort: 4181,
		Certificate:  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		Key:          secret("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"),
		OIDC:         spec.OIDC{Issuer: "https://id.example.org/realms/coop", ClientID: "sovereign", ClientSecret: secret("client-secret")},
		CookieSecret: secret("0123456789abcdef0123456789abcdef"),
		Members: []*spec.Member{
			{Name: "alice", Email: "alice@example.org", APIKey: secret("sk-alice-0123456789abcdef0123456789abcdef"), Limit: spec.RateLimit{RequestsPerMinute: 120, Burst: burst(40)}},
			{Name: "bob", Email: "bob@example.org", APIKey: secret("sk-bob-0123456789abcdef0123456789abcdef01"), Limit: spec.RateLimit{RequestsPerMinute: 60}, Models: []string{"qwen3-30b"}},
			{Name: "carol", Email: "carol@example.org", Limit: spec.RateLimit{RequestsPerMinute: 60}},
			{Name: "dave", Email: "dave@example.org", APIKeySHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Limit: spec.RateLimit{RequestsPerMinute: 60}},
		},
		Routes: []*spec.Route{
			{Path: "/fast/v1/", Engine: fast},
			{Path: "/v1/", Engine: main, Engines: []*spec.Engine{main, fast}}, // by model
		},
		Global:           spec.RateLimit{RequestsPerMinute: 600, Burst: burst(150)},
		MaxBodySize:      64 << 20,
		StreamTimeout:    time.Hour,
		DrainRetryAfter:  30 * time.Second,
		NginxImage:       spec.Image{Ref: "docker.io/library/nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591"},
		OAuth2ProxyImage: spec.Image{Ref: "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3@sha256:10a1165743a192e1940b4708fb9647027185ce11a681a1c5519b442ff7f1f561"},
	}
}

// TestGolden pins every file the gateway renders for twoEngines; the
// reference blueprints' goldens (tests/testdata/golden) pin the usual case.
func TestGolden(t *testing.T) {
	tree := compile(t, twoEngines())
	for _, u := range tree.Units {
		u.Image.Pinned = u.Image.Ref // images.Pin's job; not under test here
	}
	files, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.ReplaceAll(strings.TrimPrefix(f.Path, "/"), "/", "__")
		golden.Check(t, filepath.Join("testdata", "two-engines", name+".golden"), f.Contents)
	}
}

// TestSecretsStayInSecretFiles: every secret value appears only in files
// marked secret (0600), never in a config that config.bu or a diff shows.
func TestSecretsStayInSecretFiles(t *testing.T) {
	gw := twoEngines()
	secrets := []string{gw.Key.Value, gw.OIDC.ClientSecret.Value, gw.CookieSecret.Value, "sk-gw-main", "sk-gw-fast"}
	for _, m := range gw.Members {
		if m.APIKey != nil {
			secrets = append(secrets, m.APIKey.Value)
		}
	}
	tree := compile(t, gw)
	for _, u := range tree.Units {
		u.Image.Pinned = u.Image.Ref
	}
	files, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]bool{}
	for _, f := range files {
		for _, s := range secrets {
			if !strings.Contains(string(f.Contents), s) {
				continue
			}
			holders[s] = true
			if !f.Secret || f.Mode != 0o600 {
				t.Errorf("%s holds a secret but is not a 0600 secret file (mode %04o)", f.Path, f.Mode)
			}
		}
	}
	for _, s := range secrets {
		if !holders[s] {
			t.Errorf("secret %q is rendered nowhere", s)
		}
	}
	// The engines' keys reach nginx through the files the config includes.
	conf := string(files[indexOf(t, files, gateway.NginxConf)].Contents)
	for _, name := range []string{"main", "fast"} {
		if !strings.Contains(conf, "include "+gateway.NginxDir+"/engine-"+name+".conf;") {
			t.Errorf("nginx.conf does not include engine %s's key", name)
		}
	}
}

func compile(t *testing.T, gw *spec.Gateway) *units.Tree {
	t.Helper()
	tree, diags := gateway.Compile(gw, nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return tree
}

func indexOf(t *testing.T, files []*units.File, path string) int {
	t.Helper()
	for i, f := range files {
		if f.Path == path {
			return i
		}
	}
	t.Fatalf("%s not rendered", path)
	return -1
}

// An engine that checks no key (NIM) gets none: no key file, and the inner
// hop clears the Authorization header instead of including one.
func TestEngineWithoutKey(t *testing.T) {
	gw := twoEngines()
	gw.Routes[0].Engine.APIKey = nil // fast
	tree := compile(t, gw)
	for _, f := range tree.Files {
		if strings.HasSuffix(f.Path, "/engine-fast.conf") {
			t.Errorf("%s rendered for an engine without a key", f.Path)
		}
	}
	conf, err := gateway.NginxConfig(gw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(conf, "engine-fast.conf") || !strings.Contains(conf, "engine-main.conf") {
		t.Error("nginx.conf includes the wrong engine key files")
	}
	inner := conf[strings.Index(conf, "listen unix:"):]
	fast := inner[strings.Index(inner, "location /fast/v1/ {"):]
	fast = fast[:strings.Index(fast, "\n        }\n")]
	if !strings.Contains(fast, `proxy_set_header Authorization "";`) {
		t.Errorf("the fast route does not clear Authorization:\n%s", fast)
	}
}

func burst(n int) *int { return &n }

// TestLimitDefaults: a limit that names no rate gets the member's or the
// gateway's default; one that names no burst gets a third of a minute's
// requests; one that names a burst (even 0) keeps it.
func TestLimitDefaults(t *testing.T) {
	for _, c := range []struct {
		limit    spec.RateLimit
		member   gateway.Limit
		everyone gateway.Limit
	}{
		{spec.RateLimit{}, gateway.Limit{PerMinute: 60, Burst: 20}, gateway.Limit{PerMinute: 600, Burst: 200}},
		{spec.RateLimit{Burst: burst(5)}, gateway.Limit{PerMinute: 60, Burst: 5}, gateway.Limit{PerMinute: 600, Burst: 5}},
		{spec.RateLimit{RequestsPerMinute: 100}, gateway.Limit{PerMinute: 100, Burst: 33}, gateway.Limit{PerMinute: 100, Burst: 33}},
		{spec.RateLimit{RequestsPerMinute: 60, Burst: burst(0)}, gateway.Limit{PerMinute: 60}, gateway.Limit{PerMinute: 60}},
		{spec.RateLimit{RequestsPerMinute: 60, Burst: burst(7)}, gateway.Limit{PerMinute: 60, Burst: 7}, gateway.Limit{PerMinute: 60, Burst: 7}},
	} {
		if got := gateway.MemberLimit(c.limit); got != c.member {
			t.Errorf("MemberLimit(%+v) = %+v, want %+v", c.limit, got, c.member)
		}
		if got := gateway.GlobalLimit(c.limit); got != c.everyone {
			t.Errorf("GlobalLimit(%+v) = %+v, want %+v", c.limit, got, c.everyone)
		}
	}
}

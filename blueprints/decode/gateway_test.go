package decode_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// testCert and testTLS are a certificate for llm.example.org, valid for ten
// years from now, and its key.
var testCert, testTLS = testPair("llm.example.org", time.Now().Add(-time.Hour), time.Now().AddDate(10, 0, 0))

// testPair is a self-signed certificate for host valid from notBefore to
// notAfter, and its private key, both PEM.
func testPair(host string, notBefore, notAfter time.Time) (certPEM, keyPEM string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: notBefore, NotAfter: notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

const (
	aliceKey = "sk-alice-0123456789abcdef0123456789abcdef"
	bobKey   = "sk-bob-0123456789abcdef0123456789abcdef01"
	// aliceKeySHA256 is printf %s "$aliceKey" | sha256sum.
	aliceKeySHA256 = "f65df1bd3577a5f728e2d270c4de88c90f55a7c9db9a4cbfddc5308d2f73f1d1"
)

// gatewayFiles is a blueprint with a gateway whose body is body, plus the
// secret files it reads.
func gatewayFiles(body string) map[string]string {
	return map[string]string{
		"bp/main.hcl": testAppliance + testModel + testEngine + `
gateway {
  domain        = "llm.example.org"
  cookie_secret = secret_file("cookie.secret")
  tls {
    certificate = file("cert.pem")
    key         = secret_file("key.pem")
  }
  oidc {
    issuer        = "https://id.example.org"
    client_id     = "sovereign"
    client_secret = secret_file("client.secret")
  }
  route "/v1/" {
    engine = engine.vllm.main
  }
` + body + `
}
`,
		"bp/cookie.secret": "0123456789abcdef0123456789abcdef\n",
		"bp/cert.pem":      testCert,
		"bp/key.pem":       testTLS,
		"bp/client.secret": "client-secret\n",
		"bp/alice.key":     aliceKey + "\n",
		"bp/bob.key":       bobKey + "\n",
		"bp/short.key":     "sk-short\n",
		"bp/members.hcl": `
member "dora" {
  email   = "dora@example.org"
  api_key = secret_file("alice.key")
}
`,
	}
}

const alice = `
  member "alice" {
    email   = "alice@example.org"
    api_key = secret_file("alice.key")
  }
`

func TestGatewayLoads(t *testing.T) {
	bp := mustLoad(t, gatewayFiles(alice+`
  member "bob" {
    email               = "bob@example.org"
    api_key             = secret_file("bob.key")
    requests_per_minute = 6
    models              = ["qwen3"]
  }
  rate_limit {
    requests_per_minute = 100
  }
`), "bp/main.hcl", lang.Inputs{})
	gw := bp.Gateway
	if gw == nil {
		t.Fatal("no gateway")
	}
	var got []string
	for _, m := range gw.Members {
		got = append(got, m.Name+" "+m.Email+" "+m.APIKey.Value)
	}
	if diff := cmp.Diff([]string{"alice alice@example.org " + aliceKey, "bob bob@example.org " + bobKey}, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	// A rate or burst the blueprint does not name stays unset: the gateway
	// module owns their defaults.
	if l := gw.Members[1].Limit; l.RequestsPerMinute != 6 || l.Burst != nil {
		t.Errorf("bob's limit %+v, want 6/min with no burst of its own", l)
	}
	if l := gw.Members[0].Limit; l.RequestsPerMinute != 0 || l.Burst != nil {
		t.Errorf("alice's limit %+v, want it unset", l)
	}
	if gw.Global.RequestsPerMinute != 100 || gw.Global.Burst != nil {
		t.Errorf("global limit %+v, want 100/min with no burst of its own", gw.Global)
	}
	if gw.HTTPSPort != 443 || gw.HTTPPort != 80 || gw.AuthPort != 4180 || gw.MaxBodySize != 64<<20 {
		t.Errorf("defaults: %+v", gw)
	}
	// The decoder decodes: the key the gateway sends a routed engine is
	// the gateway module's to derive (modules/gateway EngineKeys).
	eng := bp.Engines[0]
	if len(gw.Routes) != 1 || gw.Routes[0].Engine != eng {
		t.Fatalf("routes %+v", gw.Routes)
	}
	if eng.APIKey != nil {
		t.Errorf("the decoder gave the engine a key: %v", eng.APIKey)
	}
}

func TestGatewayEngineKeepsItsOwnKey(t *testing.T) {
	files := gatewayFiles(alice)
	files["bp/main.hcl"] = strings.Replace(files["bp/main.hcl"], `image = "`+testImage+`"`, `image = "`+testImage+`"
  api_key = secret_file("bob.key")`, 1)
	bp := mustLoad(t, files, "bp/main.hcl", lang.Inputs{})
	if got := bp.Engines[0].APIKey.Value; got != bobKey {
		t.Errorf("engine key %q, want its own api_key", got)
	}
}

func TestGatewayMembersFile(t *testing.T) {
	bp := mustLoad(t, gatewayFiles(`  members_file = "members.hcl"`), "bp/main.hcl", lang.Inputs{})
	if len(bp.Gateway.Members) != 1 || bp.Gateway.Members[0].Name != "dora" || bp.Gateway.Members[0].APIKey.Value != aliceKey {
		t.Errorf("members from the file: %+v", bp.Gateway.Members)
	}
}

func TestGatewayErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		edit       func(map[string]string)
		want       string
	}{
		{name: "literal cookie secret", body: alice, want: "Secret given as a literal",
			edit: func(f map[string]string) {
				f["bp/main.hcl"] = strings.Replace(f["bp/main.hcl"], `secret_file("cookie.secret")`, `"0123456789abcdef"`, 1)
			}},
		{name: "cookie secret length", body: alice, want: "Invalid cookie secret",
			edit: func(f map[string]string) { f["bp/cookie.secret"] = "too-short" }},
		{name: "short api key", want: "Invalid API key", body: `
  member "alice" {
    email   = "alice@example.org"
    api_key = secret_file("short.key")
  }`},
		{name: "literal api key", want: "Secret given as a literal", body: `
  member "alice" {
    email   = "alice@example.org"
    api_key = "` + aliceKey + `"
  }`},
		{name: "duplicate email", want: "Duplicate member email", body: alice + `
  member "alice2" {
    email = "Alice@example.org"
  }`},
		{name: "shared key", want: "Two members share an API key", body: alice + `
  member "bob" {
    email   = "bob@example.org"
    api_key = secret_file("alice.key")
  }`},
		{name: "duplicate member", want: "Duplicate member", body: alice + alice},
		{name: "key and hash", want: "Two API keys", body: `
  member "alice" {
    email          = "alice@example.org"
    api_key        = secret_file("alice.key")
    api_key_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  }`},
		{name: "bad hash", want: "Invalid SHA-256", body: `
  member "alice" {
    email          = "alice@example.org"
    api_key_sha256 = "sha256:00"
  }`},
		// bob's hash is the SHA-256 of alice's key.
		{name: "hash of another member's key", want: "Two members share an API key", body: alice + `
  member "bob" {
    email          = "bob@example.org"
    api_key_sha256 = "` + aliceKeySHA256 + `"
  }`},
		{name: "no members", want: "No members"},
		{name: "bad email", want: "Invalid email address", body: `
  member "alice" {
    email = "Alice <alice@example.org>"
  }`},
		{name: "unknown model", want: "Unknown model", body: `
  member "alice" {
    email  = "alice@example.org"
    models = ["gpt-4"]
  }`},
		{name: "undeclared engine", want: "Reference to undeclared engine", body: alice + `
  route "/fast/v1/" {
    engine = engine.vllm.fast
  }`},
		{name: "route path", want: "Invalid route path", body: alice + `
  route "/api/" {
    engine = engine.vllm.main
  }`},
		{name: "engine and engines", want: "Route needs one engine setting", body: alice + `
  route "/x/v1/" {
    engine  = engine.vllm.main
    engines = [engine.vllm.main]
  }`},
		{name: "one model name twice", want: "Two engines serve one model name", body: alice + `
  route "/x/v1/" {
    engines = [engine.vllm.main, engine.vllm.main]
  }`},
		{name: "engines not references", want: "Invalid reference", body: alice + `
  route "/x/v1/" {
    engines = ["engine.vllm.main"]
  }`},
		{name: "duplicate route", want: "Duplicate route", body: alice + `
  route "/v1/" {
    engine = engine.vllm.main
  }`},
		{name: "port taken by the engine", want: "Port already in use", body: alice + `
  http_port = 8000`},
		{name: "plain http issuer", body: alice, want: "Invalid issuer",
			edit: func(f map[string]string) {
				f["bp/main.hcl"] = strings.Replace(f["bp/main.hcl"], "https://id.example.org", "http://id.example.org", 1)
			}},
		{name: "missing tls", body: alice, want: "Missing tls block",
			edit: func(f map[string]string) {
				f["bp/main.hcl"] = strings.Replace(f["bp/main.hcl"], "tls {", "unused_tls = {", 1)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := gatewayFiles(tc.body)
			if tc.edit != nil {
				tc.edit(files)
			}
			p := testParser(t, files)
			bp, diags := p.Load("bp/main.hcl", lang.Inputs{})
			if bp != nil || !diags.HasErrors() {
				t.Fatalf("loaded without errors, want %q", tc.want)
			}
			found := false
			for _, d := range diags {
				if d.Summary == tc.want {
					found = true
					if d.Subject == nil {
						t.Errorf("%q has no subject", d.Summary)
					}
				}
			}
			if !found {
				t.Errorf("no %q diagnostic in:\n%s", tc.want, formatDiags(p, diags))
			}
		})
	}
}

// A gateway in a module (shared by the audition and the collective's own
// machine) reads its files, members_file included, relative to the module.
func TestGatewayInModule(t *testing.T) {
	files := gatewayFiles(alice)
	shared := map[string]string{}
	for name, data := range files {
		if name != "bp/members.hcl" { // a folder's *.hcl are all blueprint files
			shared[strings.Replace(name, "bp/", "bp/shared/", 1)] = data
		}
	}
	// The module holds the gateway; its route names the root's engine.
	gwBlock := files["bp/main.hcl"][strings.Index(files["bp/main.hcl"], "\ngateway {"):]
	shared["bp/shared/main.hcl"] = gwBlock
	shared["bp/main.hcl"] = testAppliance + testModel + testEngine + `
module "door" {
  source = "./shared"
}
`
	bp := mustLoad(t, shared, "bp/main.hcl", lang.Inputs{})
	if bp.Gateway == nil || len(bp.Gateway.Members) != 1 || bp.Gateway.Members[0].APIKey.Value != aliceKey {
		t.Fatalf("gateway from the module: %+v", bp.Gateway)
	}
}

// TestGatewayTLS: what would stop nginx (a key that is not the
// certificate's) is an error at key; what would stop members' clients (a
// certificate for another name, expired, not yet valid) is a warning at
// certificate, against the clock the caller gives.
func TestGatewayTLS(t *testing.T) {
	_, otherKey := testPair("llm.example.org", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	otherName, otherNameKey := testPair("other.example.org", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	may2020 := time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)
	old, oldKey := testPair("llm.example.org", may2020, may2020.AddDate(1, 0, 0))

	files := func(cert, key string) map[string]string {
		f := gatewayFiles(alice)
		f["bp/cert.pem"], f["bp/key.pem"] = cert, key
		return f
	}
	if got, want := loadErrors(t, files(testCert, otherKey), "bp/main.hcl", lang.Inputs{}), []string{"bp/main.hcl:26,19: Key does not match the certificate"}; !cmp.Equal(got, want) {
		t.Errorf("a key that is not the certificate's: %q, want %q", got, want)
	}
	if got, want := loadErrors(t, files("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", testTLS), "bp/main.hcl", lang.Inputs{}), []string{"bp/main.hcl:25,19: Invalid certificate"}; !cmp.Equal(got, want) {
		t.Errorf("an unreadable certificate: %q, want %q", got, want)
	}

	warnings := func(cert, key string, now time.Time) []string {
		t.Helper()
		p := testParser(t, files(cert, key))
		bp, diags := p.Load("bp/main.hcl", lang.Inputs{Now: now})
		if diags.HasErrors() || bp == nil {
			t.Fatalf("load failed:\n%s", formatDiags(p, diags))
		}
		var out []string
		for _, d := range diags {
			if d.Severity == hcl.DiagWarning && strings.HasPrefix(d.Summary, "Certificate") {
				out = append(out, fmt.Sprintf("%s:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		cert, key string
		now       time.Time
		want      []string
	}{
		{"valid", testCert, testTLS, time.Time{}, nil},
		{"another name", otherName, otherNameKey, time.Time{}, []string{"bp/main.hcl:25: Certificate does not cover the domain"}},
		{"expired", old, oldKey, time.Time{}, []string{"bp/main.hcl:25: Certificate expired"}},
		{"valid at the injected time", old, oldKey, may2020.AddDate(0, 6, 0), nil},
		{"expired at the injected time", testCert, testTLS, time.Now().AddDate(20, 0, 0), []string{"bp/main.hcl:25: Certificate expired"}},
		{"not yet valid at the injected time", old, oldKey, may2020.AddDate(-1, 0, 0), []string{"bp/main.hcl:25: Certificate not yet valid"}},
	} {
		if got := warnings(tc.cert, tc.key, tc.now); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: warnings %q, want %q", tc.name, got, tc.want)
		}
	}
}

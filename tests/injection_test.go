package tests

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/afero"
	"github.com/zclconf/go-cty/cty"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// The injection property: whatever characters a member or a typo puts into
// a string setting, the build either stops with an error located in the
// blueprint, or writes files that still mean what they meant, with the
// value quoted. The generator takes every string of a blueprint that uses
// every block (every quoted string, block label and secret), puts one
// payload into it, builds, and checks the property. The seeds are the full
// table of strings × payloads, so plain `go test` runs all of them; `go
// test -fuzz FuzzInjection` searches further.

// injectionBlueprint is the kitchen sink of string settings. Secrets come
// from the environment (sink* variables) so that the generator can put
// payloads into them too; map keys are quoted so that they are strings the
// generator finds.
const injectionBlueprint = `
appliance "sink" {
  hardware = "dgx-station-gb300"
  hostname = "sink-host"
  timezone = "Europe/Berlin"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFV8g+gt9uUbJCQFG+SjNBU7/Yr55hxbc9Id1k7FNha6 test-ops"]
    groups              = ["wheel", "sudo"]
  }
  storage {
    device     = "/dev/disk/by-id/nvme-EXAMPLE_DATA_DISK"
    filesystem = "xfs"
    label      = "sovdata"
    state      = "/var/lib/sovereign"
    models     = "/var/lib/sovereign/weights"
  }
  power {
    tariff_per_kwh = 0.3
    currency       = "AUD"
  }
}

model "qwen3-30b" {
  catalog  = "qwen3-30b-a3b"
  weights  = "fp8"
  source   = "hf://Qwen/Qwen3-30B-A3B-Instruct-2507-FP8"
  revision = "89abcdef0123456789abcdef0123456789abcdef"
  files = {
    "config.json"       = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
    "model.safetensors" = "sha256:5ac6747bd1c9737034e95923613f7204fa1f80fcf5f759b1263a5b7d71581939"
  }
  mirror = "http://mirror.lan:8080/qwen3/"
  token  = secret_env("SINK_HF_TOKEN")
}

model "r1-32b" {
  catalog = "deepseek-r1-distill-qwen-32b"
  weights = "awq-int4"
}

model "llama-70b" {
  catalog = "llama-3.3-70b"
  weights = "fp8"
}

engine "vllm" "chat" {
  model                  = model.qwen3-30b
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  served_model_name      = "qwen3 chat"
  gpu_memory_utilization = 0.3
  max_model_len          = 32768
  kv_cache_dtype         = "fp8"
  tool_call_parser       = "hermes"
  start_timeout          = "45m"
  cpu_kv_offload         = "64GiB"
  api_key                = secret_env("SINK_ENGINE_KEY")
  environment = {
    "VLLM_LOGGING_LEVEL" = "DEBUG"
    "NOTE"               = "plain words"
  }
  extra_args = ["--kv-transfer-config", "{}", "--seed", "7"]
}

engine "sglang" "turns" {
  model               = model.r1-32b
  image               = "docker.io/lmsysorg/sglang:v0.5.9@sha256:e216b7dc4ac1938b599b982233ccf7eb2b11dd1f07fc2e00a7b9841052c553be"
  served_model_name   = "r1"
  port                = 30000
  mem_fraction_static = 0.25
  context_length      = 32768
  quantization        = "awq_marlin"
  reasoning_parser    = "deepseek-r1"
  extra_args          = ["--log-level", "info"]
  environment         = { "SGLANG_NOTE" = "turns" }
}

engine "nim" "ops" {
  model = model.llama-70b
  # TEST FIXTURE: an all-zero digest, not a real image.
  image                  = "nvcr.io/nim/meta/llama-3.3-70b-instruct:1.13.1@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  port                   = 8003
  gpu_memory_utilization = 0.4
  max_model_len          = 16384
  model_from             = "image"
  model_profile          = "EXAMPLE-profile-id"
  ngc_api_key            = secret_env("SINK_NGC_KEY")
  extra_args             = ["--enforce-eager"]
}

gateway {
  domain        = "llm.example.org"
  cookie_secret = secret_env("SINK_COOKIE")
  max_body_size = "64MiB"

  tls {
    certificate = file("cert.pem")
    key         = secret_file("key.pem")
  }
  oidc {
    issuer        = "https://id.example.org/realms/coop"
    client_id     = "sovereign"
    client_secret = secret_env("SINK_CLIENT_SECRET")
  }
  member "alice" {
    email   = "alice@example.org"
    api_key = secret_env("SINK_ALICE_KEY")
    models  = ["qwen3 chat"]
  }
  member "dave" {
    email          = "dave@example.org"
    api_key_sha256 = "0f343b0931126a20f133d67c2b018a3b1ba3ae25fa8b7d8c1e6d9c8d1b1a2b3c"
  }
  route "/v1/" {
    engines = [engine.vllm.chat, engine.sglang.turns]
  }
  route "/ops/v1/" {
    engine = engine.nim.ops
  }
}

wan {
  failover_time = "30s"
  uplink "fibre" {
    interface = "enp1s0"
    priority  = 1
    address   = "203.0.113.2/30"
    gateway   = "203.0.113.1"
    dns       = ["192.0.2.53"]
  }
  uplink "mobile" {
    type     = "gsm"
    priority = 2
    apn      = "telstra.internet"
  }
  check {
    uri      = "http://192.0.2.80/ok"
    response = "ok"
    targets  = ["198.51.100.100"]
  }
}

ups "rack" {
  driver      = "usbhid-ups"
  port        = "auto"
  vendor_id   = "0463"
  product_id  = "ffff"
  description = "Rack UPS"
  watts       = 3000
  runtime     = "20m"
  password    = secret_env("SINK_UPS_PASSWORD")
}
`

// injectionSecrets are the secret settings' values, by environment variable.
var injectionSecrets = map[string]string{
	"SINK_HF_TOKEN":      "hf_injectionTestToken0123456789",
	"SINK_ENGINE_KEY":    "sk-engine-0123456789abcdef",
	"SINK_NGC_KEY":       "nvapi-0123456789abcdef",
	"SINK_COOKIE":        "0123456789abcdef0123456789abcdef",
	"SINK_CLIENT_SECRET": "client-secret-0123456789",
	"SINK_ALICE_KEY":     "sk-alice-0123456789abcdef0123456789abcdef",
	"SINK_UPS_PASSWORD":  "ups-password-0123",
}

// injectionPayloads are what the seeds put into every string: line breaks
// and other control characters, and the characters unit, nginx, shell,
// TOML and keyfile syntaxes read specially.
var injectionPayloads = []string{
	"\n", "\nWhat=/evil", "\r", "\t", "\x00", "\x1b[31m", "\u0085", "\u2028", "\u202e",
	`"; return 200 "`, `\`, "${HOME}", "%n", "; {", " x ", "\\\nX=1",
}

// injectionSite is one string the generator can change: a quoted string or
// a block label in the blueprint, or a secret's value.
type injectionSite struct {
	name string
	// start, end are the byte offsets of the quoted literal in the file;
	// value is what it says. For a secret, env names the variable.
	start, end int
	value      string
	env        string
}

type injectionFixture struct {
	cert, key []byte
	sites     []injectionSite
	base      *pipeline.Result
	baseShape treeShape
}

var (
	injectionOnce sync.Once
	injection     *injectionFixture
	injectionErr  error
)

func injectionSetup(tb testing.TB) *injectionFixture {
	tb.Helper()
	injectionOnce.Do(func() {
		fx := &injectionFixture{}
		fx.cert, fx.key, injectionErr = injectionCert()
		if injectionErr != nil {
			return
		}
		fx.sites, injectionErr = injectionSites([]byte(injectionBlueprint))
		if injectionErr != nil {
			return
		}
		res, diags := fx.build(injectionBlueprint, nil)
		if diags.HasErrors() {
			injectionErr = fmt.Errorf("the unchanged blueprint does not build: %s", diags.Error())
			return
		}
		fx.base, fx.baseShape = res, shapeOf(tb, res)
		injection = fx
	})
	if injectionErr != nil {
		tb.Fatal(injectionErr)
	}
	return injection
}

// build builds the blueprint text in memory, with env overriding secrets.
func (fx *injectionFixture) build(text string, env map[string]string) (*pipeline.Result, hcl.Diagnostics) {
	fs := afero.NewMemMapFs()
	_ = afero.WriteFile(fs, "/sink/main.hcl", []byte(text), 0o644)
	_ = afero.WriteFile(fs, "/sink/cert.pem", fx.cert, 0o644)
	_ = afero.WriteFile(fs, "/sink/key.pem", fx.key, 0o600)
	var envList []string
	for k, v := range injectionSecrets {
		if o, ok := env[k]; ok {
			v = o
		}
		envList = append(envList, k+"="+v)
	}
	sort.Strings(envList)
	return pipeline.Build(decode.NewLoader(fs, engines.Kinds), "/sink", lang.Inputs{Env: envList})
}

// injectionSites finds every quoted string and block label of the file, and
// the secrets.
func injectionSites(src []byte) ([]injectionSite, error) {
	f, diags := hclsyntax.ParseConfig(src, "main.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	var sites []injectionSite
	var walk func(body *hclsyntax.Body, where string)
	walk = func(body *hclsyntax.Body, where string) {
		for _, name := range sortedKeys(body.Attributes) {
			at := body.Attributes[name]
			hclsyntax.VisitAll(at.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
				t, ok := n.(*hclsyntax.TemplateExpr)
				if !ok || !t.IsStringLiteral() {
					return nil
				}
				v, _ := t.Value(nil)
				r := t.Range()
				sites = append(sites, injectionSite{name: where + "." + name, start: r.Start.Byte, end: r.End.Byte, value: v.AsString()})
				return nil
			})
		}
		for _, b := range body.Blocks {
			here := strings.TrimPrefix(where+"."+b.Type, ".")
			for i, l := range b.Labels {
				r := b.LabelRanges[i]
				sites = append(sites, injectionSite{name: here + " label " + l, start: r.Start.Byte, end: r.End.Byte, value: l})
			}
			walk(b.Body, here)
		}
	}
	walk(f.Body.(*hclsyntax.Body), "")
	for _, k := range sortedKeys(injectionSecrets) {
		sites = append(sites, injectionSite{name: "secret " + k, env: k, value: injectionSecrets[k]})
	}
	return sites, nil
}

// mutate puts payload into the site's value, in the middle or at the end,
// and returns the blueprint text and secrets to build.
func (fx *injectionFixture) mutate(site injectionSite, payload string, atEnd bool) (string, map[string]string) {
	runes := []rune(site.value)
	at := len(runes)
	if !atEnd {
		at /= 2
	}
	value := string(runes[:at]) + payload + string(runes[at:])
	if site.env != "" {
		return injectionBlueprint, map[string]string{site.env: value}
	}
	lit := hclwrite.TokensForValue(cty.StringVal(value)).Bytes()
	return injectionBlueprint[:site.start] + string(lit) + injectionBlueprint[site.end:], nil
}

// checkInjection is the property for one mutated build.
func checkInjection(t *testing.T, fx *injectionFixture, site injectionSite, payload string, atEnd bool) (*pipeline.Result, bool) {
	t.Helper()
	text, env := fx.mutate(site, payload, atEnd)
	res, diags := fx.build(text, env)
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if strings.Contains(d.Summary, "Internal error") || strings.Contains(d.Detail, "bug") {
			t.Errorf("%s with %q: internal error instead of a located one: %s: %s", site.name, payload, d.Summary, d.Detail)
		}
		if d.Subject == nil || d.Subject.Filename == "" || d.Subject.Start.Line == 0 {
			t.Errorf("%s with %q: error without a location: %s: %s", site.name, payload, d.Summary, d.Detail)
		}
		if site.env != "" && strings.Contains(d.Error(), payload) && len(strings.TrimSpace(payload)) > 2 {
			t.Errorf("%s with %q: the error shows the secret: %s", site.name, payload, d.Error())
		}
	}
	if diags.HasErrors() {
		return nil, false
	}
	if diff := fx.baseShape.diff(shapeOf(t, res)); diff != "" {
		t.Errorf("%s with %q built, but the output changed shape (a value added a line or a setting):\n%s", site.name, payload, diff)
	}
	return res, true
}

// treeShape is what a value must never change: which settings each unit
// has, and how many lines each file has.
type treeShape struct {
	files    int
	unitKeys []string // "file [Section] Key", sorted, across all units
	lines    []int    // line counts of every file, sorted
}

func shapeOf(tb testing.TB, res *pipeline.Result) treeShape {
	var s treeShape
	for _, f := range res.Rootfs {
		s.files++
		s.lines = append(s.lines, bytes.Count(f.Contents, []byte("\n")))
		if isUnitFile(f.Path) {
			s.addUnit(f.Path, f.Contents)
		}
	}
	// Plain units (and the mount unit Ignition makes of a data disk) are
	// in the Ignition config.
	var ign struct {
		Systemd struct {
			Units []struct {
				Name     string
				Contents *string
			}
		}
	}
	if err := json.Unmarshal(res.Ignition, &ign); err != nil {
		tb.Fatalf("ignition.json: %v", err)
	}
	for _, u := range ign.Systemd.Units {
		if u.Contents != nil {
			s.addUnit(u.Name, []byte(*u.Contents))
		}
	}
	sort.Strings(s.unitKeys)
	sort.Ints(s.lines)
	return s
}

func (s *treeShape) addUnit(name string, contents []byte) {
	opts, err := unit.DeserializeOptions(bytes.NewReader(contents))
	if err != nil {
		s.unitKeys = append(s.unitKeys, fmt.Sprintf("%s: unparsable: %v", path.Base(name), err))
		return
	}
	for _, o := range opts {
		s.unitKeys = append(s.unitKeys, fmt.Sprintf("%s [%s] %s", path.Ext(name), o.Section, o.Name))
	}
}

func isUnitFile(p string) bool {
	return (strings.HasPrefix(p, "/etc/systemd/system/") || strings.HasPrefix(p, "/etc/containers/systemd/")) &&
		slices.Contains([]string{".service", ".mount", ".timer", ".path", ".target", ".container", ".volume", ".network", ".socket"}, path.Ext(p))
}

func (s treeShape) diff(o treeShape) string {
	var out []string
	if s.files != o.files {
		out = append(out, fmt.Sprintf("%d files, was %d", o.files, s.files))
	}
	if !slices.Equal(s.unitKeys, o.unitKeys) {
		out = append(out, fmt.Sprintf("unit settings differ:\n  was %d: %v\n  now %d: %v", len(s.unitKeys), onlyIn(s.unitKeys, o.unitKeys), len(o.unitKeys), onlyIn(o.unitKeys, s.unitKeys)))
	}
	if !slices.Equal(s.lines, o.lines) {
		out = append(out, "line counts of the files differ")
	}
	return strings.Join(out, "\n")
}

func onlyIn(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// FuzzInjection puts a payload into one string of the kitchen sink. Its
// seeds are every site with every payload.
func FuzzInjection(f *testing.F) {
	fx := injectionSetup(f)
	for i := range fx.sites {
		for j, p := range injectionPayloads {
			// Fuzzing starts from one seed per payload: the whole table
			// would take the fuzzing time to measure its coverage.
			if fuzzing() && i != j*7%len(fx.sites) {
				continue
			}
			f.Add(uint16(i), p, j%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, site uint16, payload string, atEnd bool) {
		s := fx.sites[int(site)%len(fx.sites)]
		checkInjection(t, fx, s, payload, atEnd)
	})
}

// fuzzing reports whether this run fuzzes (go test -fuzz) rather than
// running the seeds as tests.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// TestInjectionSites keeps the generator honest: it finds the strings of
// every block, so that a setting added later is covered without a change
// here.
func TestInjectionSites(t *testing.T) {
	fx := injectionSetup(t)
	blocks := map[string]bool{}
	for _, s := range fx.sites {
		blocks[strings.SplitN(strings.Fields(s.name)[0], ".", 2)[0]] = true
	}
	for _, want := range []string{"appliance", "model", "engine", "gateway", "wan", "ups", "secret"} {
		if !blocks[want] {
			t.Errorf("no string found in %s blocks; sites: %d", want, len(fx.sites))
		}
	}
	if len(fx.sites) < 60 {
		t.Errorf("only %d strings found in the kitchen sink", len(fx.sites))
	}
}

// TestInjectionPeers builds, for each string, the blueprint with the
// printable payloads that string accepts put in together, and has the real
// validators read the result: quadlet and systemd-analyze the units, nginx
// and oauth2-proxy the gateway, ignition-validate the config.
func TestInjectionPeers(t *testing.T) {
	fx := injectionSetup(t)
	// The second payload leaves out what unit text refuses, so that the
	// strings written into a Description= are tried too.
	printables := []string{`"'$;{}%#\` + "` x", `"'$;{}#` + "` x"}
	var accepted []string
	for _, s := range fx.sites {
		if s.env != "" {
			continue
		}
		var res *pipeline.Result
		for _, p := range printables {
			text, env := fx.mutate(s, p, false)
			if r, diags := fx.build(text, env); !diags.HasErrors() {
				res = r
				accepted = append(accepted, fmt.Sprintf("%s %q", s.name, p))
				break
			}
		}
		if res == nil {
			continue
		}
		t.Run(strings.ReplaceAll(s.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			if diff := fx.baseShape.diff(shapeOf(t, res)); diff != "" {
				t.Fatalf("output changed shape:\n%s", diff)
			}
			out := filepath.Join(t.TempDir(), "out")
			if err := pipeline.Write(afero.NewOsFs(), out, res); err != nil {
				t.Fatal(err)
			}
			peers.VerifyUnits(t, filepath.Join(out, output.RootfsDir))
			peers.IgnitionValidate(t, filepath.Join(out, output.IgnitionFile))
			if strings.HasPrefix(s.name, "gateway") || strings.HasPrefix(s.name, "engine") {
				checkGatewayConfigs(t, res)
			}
		})
	}
	t.Logf("strings that accept printable special characters (quoted in the output): %v", accepted)
	if len(accepted) == 0 {
		t.Error("no string accepts printable special characters; the peers checked nothing")
	}
}

// injectionCert is a self-signed certificate for llm.example.org.
func injectionCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "llm.example.org"},
		DNSNames:  []string{"llm.example.org"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

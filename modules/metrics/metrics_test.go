package metrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/metrics/names"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/units"
)

func testBlueprint() *spec.Blueprint {
	img := func(ref string) spec.Image { return spec.Image{Ref: ref} }
	return &spec.Blueprint{
		Appliance: &spec.Appliance{Storage: spec.Storage{StateDir: "/var/lib/sovereign"}},
		Engines: []*spec.Engine{
			{Kind: "vllm", Name: "main", Port: 8000, ServedModelName: "coop", StartTimeout: time.Hour, Image: img("docker.io/vllm/vllm-openai:v0.14.0")},
			{Kind: "sglang", Name: "small", Port: 30000, ServedModelName: "small", StartTimeout: time.Hour, Image: img("docker.io/lmsysorg/sglang:v0.5.9")},
		},
		UPS: &spec.UPS{Name: "main"},
		WAN: &spec.WAN{
			Uplinks: []*spec.Uplink{{Name: "nbn", Priority: 1}, {Name: "5g", Priority: 2}},
			Check:   spec.Check{Targets: []netip.Addr{netip.MustParseAddr("1.1.1.1")}},
		},
		Metrics: &spec.Metrics{
			Retention: 15 * 24 * time.Hour, ScrapeInterval: 15 * time.Second,
			GPUTemperatureLimit: 85, QueueDepthLimit: 10, QueueDepthFor: 5 * time.Minute, DiskUsedLimit: 90,
			Images: spec.MetricsImages{Prometheus: img("p"), Alertmanager: img("a"), Grafana: img("g"),
				NodeExporter: img("n"), DCGMExporter: img("d"), NUTExporter: img("u"), BlackboxExporter: img("b")},
		},
	}
}

// power is bp's ups block with its defaults, as the build hands it to
// Compile.
func power(t *testing.T, bp *spec.Blueprint) *ups.Settings {
	t.Helper()
	s, diags := ups.Resolve(bp.UPS)
	if diags.HasErrors() {
		t.Fatalf("ups.Resolve: %v", diags)
	}
	return s
}

func compile(t *testing.T, bp *spec.Blueprint) (*units.Tree, hcl.Diagnostics) {
	t.Helper()
	tree, diags := Compile(bp, power(t, bp))
	if diags.HasErrors() {
		t.Fatalf("Compile: %v", diags)
	}
	return tree, diags
}

func file(t *testing.T, tree *units.Tree, p string) []byte {
	t.Helper()
	for _, f := range tree.Files {
		if f.Path == p {
			return f.Contents
		}
	}
	t.Fatalf("no file %s", p)
	return nil
}

func TestNoBlockNothing(t *testing.T) {
	bp := testBlueprint()
	bp.Metrics = nil
	if tree, diags := Compile(bp, power(t, bp)); tree != nil || diags != nil {
		t.Errorf("Compile without a metrics block = %v, %v", tree, diags)
	}
}

// Every panel of the generated dashboards queries something, and nothing
// an upgrade of the engine would take away.
func TestDashboardsUseCurrentNames(t *testing.T) {
	s, _ := newStack(testBlueprint())
	boards, diags := s.dashboards()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	exprs := 0
	for _, b := range boards {
		for _, p := range b.Panels {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", b.UID, p.Title)
			}
			for _, tg := range p.Targets {
				exprs++
				for _, l := range []*names.List{names.NodeExporter, names.DCGMExporter} {
					if d := names.Deprecated(tg.Expr, l); len(d) > 0 {
						t.Errorf("%s: %q uses deprecated %v", b.UID, tg.Expr, d)
					}
				}
				for _, e := range s.engines {
					if d := names.Deprecated(tg.Expr, e.names); len(d) > 0 {
						t.Errorf("%s: %q uses deprecated %v", b.UID, tg.Expr, d)
					}
				}
			}
		}
	}
	if exprs < 25 {
		t.Errorf("only %d queries in the dashboards", exprs)
	}
	for _, want := range []string{"vllm:inter_token_latency_seconds_bucket", "sglang:inter_token_latency_seconds_bucket",
		"vllm:kv_cache_usage_perc", "network_ups_tools_battery_runtime", `priority="200"`, "DCGM_FI_DEV_POWER_USAGE"} {
		found := false
		for _, b := range boards {
			found = found || bytes.Contains(b.JSON(), []byte(strings.ReplaceAll(want, `"`, `\"`)))
		}
		if !found {
			t.Errorf("no dashboard queries %s", want)
		}
	}
}

// A vLLM release sovereign has no names for still gets scraped and its
// down alert, with a warning at its image, but no dashboards.
func TestUnknownEngineRelease(t *testing.T) {
	bp := testBlueprint()
	bp.Engines[0].Image.Ref = "docker.io/vllm/vllm-openai:nightly"
	tree, diags := compile(t, bp)
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Summary != "Engine metrics not checked" {
		t.Errorf("diags = %v, want one warning", diags)
	}
	rules := string(file(t, tree, BuiltinRules))
	if !strings.Contains(rules, `up{job="engine",engine="main"} == 0`) || strings.Contains(rules, "vllm:num_requests_waiting") {
		t.Errorf("rules for an unknown release:\n%s", rules)
	}
	if board := string(file(t, tree, DashboardsDir+"/sovereign-engines.json")); strings.Contains(board, "vllm:") {
		t.Errorf("dashboards query an unknown release's names")
	}
}

// A blueprint rule's unknown metric is reported at its own columns.
func TestBlueprintRuleLocated(t *testing.T) {
	bp := testBlueprint()
	expr := "vllm:num_requests_waiting > 3 and vllm:gpu_cache_usage_perc > 0.9"
	start := hcl.Pos{Line: 7, Column: 12, Byte: 100}
	bp.Metrics.Rules = []*spec.AlertRule{{Name: "Busy", Expr: expr, For: time.Minute, Severity: "warning", ExprLiteral: true,
		ExprRange: hcl.Range{Filename: "bp.hcl", Start: start, End: hcl.Pos{Line: 7, Column: 12 + len(expr) + 2, Byte: 100 + len(expr) + 2}}}}
	_, diags := Compile(bp, power(t, bp))
	if len(diags) != 1 {
		t.Fatalf("diags = %v, want one", diags)
	}
	sub := diags[0].Subject
	off := strings.Index(expr, "vllm:gpu_cache_usage_perc")
	if sub.Start.Column != start.Column+1+off || sub.End.Column != start.Column+1+off+len("vllm:gpu_cache_usage_perc") {
		t.Errorf("subject %v, want columns %d-%d", sub, start.Column+1+off, start.Column+1+off+len("vllm:gpu_cache_usage_perc"))
	}
}

func TestLoopbackOnly(t *testing.T) {
	tree, _ := compile(t, testBlueprint())
	for _, u := range tree.Units {
		if got := u.Get("Container", "Network"); len(got) != 1 || got[0] != "host" {
			t.Errorf("%s: Network=%v", u.Name, got)
		}
		if p := u.Get("Container", "PublishPort"); len(p) > 0 {
			t.Errorf("%s publishes %v", u.Name, p)
		}
		exec := strings.Join(u.Get("Container", "Exec"), " ")
		for _, f := range strings.Fields(exec) {
			if strings.Contains(f, "listen-address=") && !strings.Contains(f, "=127.0.0.1:") && f != "--cluster.listen-address=" {
				t.Errorf("%s listens beyond loopback: %s", u.Name, f)
			}
		}
	}
	prom := string(file(t, tree, PrometheusConf))
	for _, target := range []string{"127.0.0.1:8000", "127.0.0.1:30000", "127.0.0.1:9199", "127.0.0.1:9400", "127.0.0.1:9100"} {
		if !strings.Contains(prom, target) {
			t.Errorf("prometheus.yml does not scrape %s", target)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, _ := compile(t, testBlueprint())
	b, _ := compile(t, testBlueprint())
	for i := range a.Files {
		if !bytes.Equal(a.Files[i].Contents, b.Files[i].Contents) {
			t.Errorf("%s differs between two compiles", a.Files[i].Path)
		}
	}
	var d Dashboard
	if err := json.Unmarshal(file(t, a, DashboardsDir+"/sovereign-appliance.json"), &d); err != nil || d.UID != "sovereign-appliance" {
		t.Errorf("dashboard JSON does not read back: %v", err)
	}
}

// The mail password makes Alertmanager's file a secret.
func TestSMTPPasswordIsSecret(t *testing.T) {
	bp := testBlueprint()
	bp.Metrics.SMTP = &spec.SMTP{Smarthost: "mail.example.org:587", From: "a@example.org", Username: "a", Password: &spec.Secret{Value: "pw-secret"}}
	bp.Metrics.Receivers = []*spec.Receiver{{Name: "ops", Email: "ops@example.org"}}
	tree, _ := compile(t, bp)
	for _, f := range tree.Files {
		if f.Path == AlertmanagerConf && (!f.Secret || f.Mode != 0o600 || !bytes.Contains(f.Contents, []byte("pw-secret"))) {
			t.Errorf("alertmanager.yml: secret=%v mode=%o", f.Secret, f.Mode)
		}
	}
}

// Every container has the memory and CPU limits the plan adds up.
func TestLimitsMatchTheFootprint(t *testing.T) {
	bp := testBlueprint()
	tree, _ := compile(t, bp)
	var mem int64
	for _, u := range tree.Units {
		m, q := u.Get("Service", "MemoryMax"), u.Get("Service", "CPUQuota")
		if len(m) != 1 || len(q) != 1 {
			t.Errorf("%s: MemoryMax=%v CPUQuota=%v", u.Name, m, q)
			continue
		}
		var mib int64
		if _, err := fmt.Sscanf(m[0], "%dM", &mib); err != nil {
			t.Errorf("%s: MemoryMax=%s", u.Name, m[0])
		}
		mem += mib << 20
	}
	if f := bp.Metrics.Footprint(1, len(bp.Engines), true, 1); f.MemoryBytes != mem {
		t.Errorf("footprint %d bytes, units' MemoryMax add up to %d", f.MemoryBytes, mem)
	}
}

// A kind whose metric names sovereign does not know (NIM) is not scraped,
// and the warning says why in the registry's words.
func TestUnmonitoredEngineKind(t *testing.T) {
	bp := testBlueprint()
	bp.Engines[1] = &spec.Engine{Kind: "nim", Name: "nim", Port: 8001, ServedModelName: "nim", StartTimeout: time.Hour, Image: spec.Image{Ref: "nvcr.io/nim/meta/llama:1.0.0"}}
	tree, diags := compile(t, bp)
	if len(diags) != 1 || diags[0].Summary != "Engine not monitored" || !strings.Contains(diags[0].Detail, "NVIDIA NIM image exports") {
		t.Fatalf("diags = %v, want the registry's reason", diags)
	}
	if conf := string(file(t, tree, PrometheusConf)); strings.Contains(conf, "127.0.0.1:8001") {
		t.Errorf("Prometheus scrapes the NIM engine:\n%s", conf)
	}
}

// The on-battery alert names the timeline the appliance runs: the ups
// module's defaults for what the blueprint left unset, never the zero the
// decoder records for them.
func TestUPSAlertNamesResolvedTimeline(t *testing.T) {
	bp := testBlueprint()
	bp.UPS.OnBattery.ShutdownAfter = 8 * time.Minute
	tree, _ := compile(t, bp)
	rules := string(file(t, tree, BuiltinRules))
	want := "the gateway drains after 1m and the host powers off after 8m unless power returns"
	if !strings.Contains(rules, want) {
		t.Errorf("the UPSOnBattery alert does not say %q:\n%s", want, rules)
	}
}

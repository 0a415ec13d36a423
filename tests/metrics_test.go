package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// metricsCase is a blueprint with a metrics block and what its appliance
// runs, so that the rule tests can feed every alert the series that fire it.
type metricsCase struct {
	blueprint blueprintCase
	engines   map[string]string // engine name → kind
	ups, wan  bool
}

var metricsCases = []metricsCase{
	{blueprint: referenceCases[0], engines: map[string]string{"main": "vllm"}, ups: true, wan: true},
	{blueprint: referenceCases[3], engines: map[string]string{"chat": "vllm", "turns": "sglang"}},
}

// series is a synthetic input series in promtool's notation: one sample a
// minute for ten hours.
type series map[string]string

const (
	samples  = "x600"
	evalTime = "480m" // past every rule's for: (the longest is 2h) and a 6h rate window
)

// healthy is an appliance where nothing is wrong: no alert may fire.
func (c metricsCase) healthy() series {
	s := series{
		`DCGM_FI_DEV_GPU_TEMP{gpu="0"}`:                               "60" + samples,
		`node_filesystem_size_bytes{mountpoint="/var",fstype="xfs"}`:  "1000000000000" + samples,
		`node_filesystem_avail_bytes{mountpoint="/var",fstype="xfs"}`: "900000000000" + samples,
		// A full tmpfs is no disk filling up.
		`node_filesystem_size_bytes{mountpoint="/run",fstype="tmpfs"}`:  "1000" + samples,
		`node_filesystem_avail_bytes{mountpoint="/run",fstype="tmpfs"}`: "0" + samples,
	}
	for name, kind := range c.engines {
		s[fmt.Sprintf(`up{job="engine",engine=%q}`, name)] = "1" + samples
		s[queueSeries(name, kind)] = "0" + samples
	}
	if c.ups {
		for _, flag := range []string{"OL", "OB", "LB"} {
			v := "0"
			if flag == "OL" {
				v = "1"
			}
			s[fmt.Sprintf(`network_ups_tools_ups_status{flag=%q}`, flag)] = v + samples
		}
	}
	if c.wan {
		s[`node_network_route_info{dest="default",device="enp1s0",priority="100"}`] = "1" + samples
		s[`node_network_route_info{dest="default",device="wwan0",priority="200"}`] = "1" + samples
	}
	return s
}

func queueSeries(engine, kind string) string {
	name := map[string]string{"vllm": "vllm:num_requests_waiting", "sglang": "sglang:num_queue_reqs"}[kind]
	return fmt.Sprintf(`%s{job="engine",engine=%q}`, name, engine)
}

// trigger is what goes wrong for one alert: series changed from healthy
// (an empty value removes the series) and the alerts that must then fire.
type trigger struct {
	change series
	fires  []string
}

// triggers returns, for every alert the case's rules define, the fault that
// fires it. An alert without a trigger fails the test: every alert is proven.
func (c metricsCase) triggers() map[string][]trigger {
	out := map[string][]trigger{
		"GPUTooHot": {{change: series{`DCGM_FI_DEV_GPU_TEMP{gpu="0"}`: "120" + samples}, fires: []string{"GPUTooHot"}}},
		// 99% used, and steady: almost full, not filling.
		"DiskAlmostFull": {{change: series{`node_filesystem_avail_bytes{mountpoint="/var",fstype="xfs"}`: "10000000000" + samples}, fires: []string{"DiskAlmostFull"}}},
		// Losing 0.5 GB a minute from 900 GB: far from full, but empty
		// within a day at that rate.
		"DiskFillingUp": {{change: series{`node_filesystem_avail_bytes{mountpoint="/var",fstype="xfs"}`: "900000000000-500000000" + samples}, fires: []string{"DiskFillingUp"}}},
		"UPSOnBattery": {{change: series{`network_ups_tools_ups_status{flag="OL"}`: "0" + samples, `network_ups_tools_ups_status{flag="OB"}`: "1" + samples},
			fires: []string{"UPSOnBattery"}}},
		"UPSLowBattery": {{change: series{`network_ups_tools_ups_status{flag="OL"}`: "0" + samples, `network_ups_tools_ups_status{flag="OB"}`: "1" + samples, `network_ups_tools_ups_status{flag="LB"}`: "1" + samples},
			fires: []string{"UPSLowBattery", "UPSOnBattery"}}},
		// The probe demoted the NBN: its default route moved to its
		// demoted metric, and the 5G's route carries traffic.
		"RunningOnBackupUplink": {{change: series{
			`node_network_route_info{dest="default",device="enp1s0",priority="100"}`:   "",
			`node_network_route_info{dest="default",device="enp1s0",priority="20100"}`: "1" + samples,
		}, fires: []string{"RunningOnBackupUplink"}}},
		// All first tokens take between 1 and 10 s: the 95th percentile is 9.55 s.
		"SlowFirstToken": {{change: series{
			`vllm:time_to_first_token_seconds_bucket{job="engine",engine="chat",le="1"}`:    "0" + samples,
			`vllm:time_to_first_token_seconds_bucket{job="engine",engine="chat",le="10"}`:   "0+10" + samples,
			`vllm:time_to_first_token_seconds_bucket{job="engine",engine="chat",le="+Inf"}`: "0+10" + samples,
		}, fires: []string{"SlowFirstToken"}}},
	}
	for name, kind := range c.engines {
		out["EngineDown"] = append(out["EngineDown"], trigger{change: series{fmt.Sprintf(`up{job="engine",engine=%q}`, name): "0" + samples}, fires: []string{"EngineDown"}})
		out["EngineQueueBacklog"] = append(out["EngineQueueBacklog"], trigger{change: series{queueSeries(name, kind): "1000" + samples}, fires: []string{"EngineQueueBacklog"}})
	}
	return out
}

// ruleTests is a promtool test file.
type ruleTests struct {
	RuleFiles          []string   `yaml:"rule_files"`
	EvaluationInterval string     `yaml:"evaluation_interval"`
	Tests              []ruleTest `yaml:"tests"`
}

type ruleTest struct {
	Name        string        `yaml:"name"`
	Interval    string        `yaml:"interval"`
	InputSeries []inputSeries `yaml:"input_series"`
	ExprTests   []exprTest    `yaml:"promql_expr_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type exprTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   string      `yaml:"eval_time"`
	ExpSamples []expSample `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// firingTest asks which alerts fire at evalTime with the series s.
func firingTest(name string, s series, fires []string) ruleTest {
	rt := ruleTest{Name: name, Interval: "1m"}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s {
			if !yield(k) {
				return
			}
		}
	}) {
		if s[k] != "" {
			rt.InputSeries = append(rt.InputSeries, inputSeries{Series: k, Values: s[k]})
		}
	}
	et := exprTest{Expr: `count by (alertname) (ALERTS{alertstate="firing"})`, EvalTime: evalTime, ExpSamples: []expSample{}}
	for _, a := range fires {
		et.ExpSamples = append(et.ExpSamples, expSample{Labels: fmt.Sprintf(`{alertname=%q}`, a), Value: 1})
	}
	rt.ExprTests = []exprTest{et}
	return rt
}

// TestMetricsConfigsValidate runs Prometheus's and Alertmanager's own
// checkers over the rendered files, then promtool's rule unit tests: a
// healthy appliance fires nothing, and each alert fires on its own fault.
func TestMetricsConfigsValidate(t *testing.T) {
	promtool := peers.Tool(t, "promtool")
	amtool := peers.Tool(t, "amtool")
	for _, c := range metricsCases {
		t.Run(c.blueprint.name, func(t *testing.T) {
			out, _ := build(t, c.blueprint)
			rootfs := filepath.Join(out, output.RootfsDir)
			at := func(p string) string { return filepath.Join(rootfs, filepath.FromSlash(p)) }

			runTool(t, promtool, "check", "config", at(metrics.PrometheusConf))
			rules, _ := filepath.Glob(at(metrics.RulesDir) + "/*.yml")
			if len(rules) == 0 {
				t.Fatal("no rule files rendered")
			}
			runTool(t, promtool, append([]string{"check", "rules"}, rules...)...)
			runTool(t, amtool, "check-config", at(metrics.AlertmanagerConf))

			alerts := alertNames(t, rules)
			tf := ruleTests{RuleFiles: rules, EvaluationInterval: "1m"}
			tf.Tests = append(tf.Tests, firingTest("healthy", c.healthy(), nil))
			triggers := c.triggers()
			for _, a := range alerts {
				if len(triggers[a]) == 0 {
					t.Errorf("alert %s has no synthetic series that fire it: add a trigger", a)
				}
				for i, tr := range triggers[a] {
					s := c.healthy()
					for k, v := range tr.change {
						s[k] = v
					}
					tf.Tests = append(tf.Tests, firingTest(fmt.Sprintf("%s #%d", a, i+1), s, tr.fires))
				}
			}
			b, err := yaml.Marshal(tf)
			if err != nil {
				t.Fatal(err)
			}
			testFile := filepath.Join(t.TempDir(), "rules_test.yml")
			if err := os.WriteFile(testFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out2 := runTool(t, promtool, "test", "rules", testFile)
			if !strings.Contains(out2, "SUCCESS") {
				t.Errorf("promtool test rules did not succeed:\n%s", out2)
			}
		})
	}
}

// alertNames lists the distinct alerts in rule files.
func alertNames(t *testing.T, files []string) []string {
	t.Helper()
	var names []string
	for _, f := range files {
		var rf struct {
			Groups []struct {
				Rules []struct {
					Alert string `yaml:"alert"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatal(err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if !slices.Contains(names, r.Alert) {
					names = append(names, r.Alert)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

func runTool(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
	return string(out)
}

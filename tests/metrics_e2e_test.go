package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// fakeVLLMMetrics is what a busy vLLM v0.14 engine answers on /metrics:
// five requests waiting, which fires the blueprint's EngineBusy rule.
const fakeVLLMMetrics = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="coop"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="coop"} 5.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="coop"} 0.42
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="coop"} 1234.0
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="coop"} 4321.0
# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.
# TYPE vllm:prefix_cache_queries_total counter
vllm:prefix_cache_queries_total{engine="0",model_name="coop"} 1000.0
# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0",model_name="coop"} 600.0
# HELP vllm:inter_token_latency_seconds Histogram of inter-token latency in seconds.
# TYPE vllm:inter_token_latency_seconds histogram
vllm:inter_token_latency_seconds_bucket{engine="0",le="0.05",model_name="coop"} 90.0
vllm:inter_token_latency_seconds_bucket{engine="0",le="+Inf",model_name="coop"} 100.0
vllm:inter_token_latency_seconds_count{engine="0",model_name="coop"} 100.0
vllm:inter_token_latency_seconds_sum{engine="0",model_name="coop"} 3.0
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="coop"} 3.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="coop"} 4.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="coop"} 4.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="coop"} 2.5
`

// TestMetricsEndToEnd runs the rendered configuration in the real
// programs on loopback: Prometheus scrapes a fake engine's /metrics and a
// real node_exporter, evaluates the blueprint's rule, and Alertmanager
// delivers the firing alert to a webhook sink. Only the fixed loopback
// ports are moved to free ones, so that the test runs beside anything.
func TestMetricsEndToEnd(t *testing.T) {
	prometheus := peers.Tool(t, "prometheus")
	alertmanager := peers.Tool(t, "prometheus-alertmanager")
	nodeExporter := peers.Tool(t, "prometheus-node-exporter")

	engine := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, fakeVLLMMetrics)
	})
	alerts := make(chan string, 16)
	sink := serve(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case alerts <- string(b):
		default:
		}
	})

	c := blueprintCase{name: "metrics", path: "testdata/blueprints/metrics", vars: []lang.VarSetting{
		{Name: "engine_port", Value: fmt.Sprint(engine)},
		{Name: "webhook", Value: fmt.Sprintf("http://127.0.0.1:%d/alerts", sink)},
	}}
	out, _ := build(t, c)
	rootfs := filepath.Join(out, output.RootfsDir)
	promPort, amPort, nodePort := gwPort(t), gwPort(t), gwPort(t)
	dir := t.TempDir()

	// Stage the rendered files: the rules where the test can read them,
	// the fixed ports moved to free ones.
	rules := filepath.Join(dir, "rules")
	ruleFiles, _ := filepath.Glob(filepath.Join(rootfs, metrics.RulesDir, "*.yml"))
	for _, f := range ruleFiles {
		copyFile(t, f, filepath.Join(rules, filepath.Base(f)))
	}
	promConf := readString(t, filepath.Join(rootfs, metrics.PrometheusConf))
	promConf = gwReplace(t, promConf, "/etc/prometheus/rules/", rules+"/")
	promConf = gwReplace(t, promConf, fmt.Sprintf("127.0.0.1:%d", metrics.AlertmanagerPort), fmt.Sprintf("127.0.0.1:%d", amPort))
	promConf = gwReplace(t, promConf, fmt.Sprintf("127.0.0.1:%d", metrics.NodeExporterPort), fmt.Sprintf("127.0.0.1:%d", nodePort))
	promConf = gwReplace(t, promConf, fmt.Sprintf("127.0.0.1:%d", metrics.PrometheusPort), fmt.Sprintf("127.0.0.1:%d", promPort))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConf, 0o644)

	env := os.Environ()
	gwStart(t, filepath.Join(dir, "node.log"), env, nodeExporter,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", nodePort), "--collector.network_route")
	gwStart(t, filepath.Join(dir, "alertmanager.log"), env, alertmanager,
		"--config.file="+filepath.Join(rootfs, metrics.AlertmanagerConf), "--storage.path="+filepath.Join(dir, "am"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", amPort), "--cluster.listen-address=")
	gwStart(t, filepath.Join(dir, "prometheus.log"), env, prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))

	client := &http.Client{Timeout: 5 * time.Second}
	gwWaitReady(t, client, fmt.Sprintf("http://127.0.0.1:%d/-/ready", amPort))
	gwWaitReady(t, client, fmt.Sprintf("http://127.0.0.1:%d/-/ready", promPort))

	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query", promPort)
	for query, want := range map[string]string{
		`vllm:num_requests_waiting{job="engine",engine="main",model="coop"}`: "5",
		`vllm:kv_cache_usage_perc{engine="main"}`:                            "0.42",
		`up{job="node"}`:                     "1",
		`count(node_network_route_info) > 0`: "", // any value: the route collector answers
	} {
		waitQuery(t, client, api, query, want)
	}

	// Every query of the engines' dashboard finds the engine's series: the
	// panels select the labels Prometheus really attaches, and the names
	// this engine release exports. (rate() needs two scrapes; the queries
	// above took longer than that.)
	var board metrics.Dashboard
	if err := json.Unmarshal([]byte(readString(t, filepath.Join(rootfs, metrics.DashboardsDir, "sovereign-engines.json"))), &board); err != nil {
		t.Fatal(err)
	}
	panels := 0
	for _, p := range board.Panels {
		for _, tg := range p.Targets {
			panels++
			waitQuery(t, client, api, tg.Expr, "")
		}
	}
	// The host panels of the appliance's dashboard find the real
	// node_exporter's series (the GPU, UPS and uplink panels need hardware
	// this test does not have).
	var appliance metrics.Dashboard
	if err := json.Unmarshal([]byte(readString(t, filepath.Join(rootfs, metrics.DashboardsDir, "sovereign-appliance.json"))), &appliance); err != nil {
		t.Fatal(err)
	}
	for _, p := range appliance.Panels {
		for _, tg := range p.Targets {
			if strings.HasPrefix(tg.Expr, "node_") || strings.Contains(tg.Expr, "(node_") || strings.Contains(tg.Expr, " node_") {
				panels++
				waitQuery(t, client, api, tg.Expr, "")
			}
		}
	}
	if panels < 13 {
		t.Errorf("only %d dashboard queries were run", panels)
	}

	deadline := time.After(60 * time.Second)
	for {
		select {
		case body := <-alerts:
			var msg struct {
				Status string `json:"status"`
				Alerts []struct {
					Status string            `json:"status"`
					Labels map[string]string `json:"labels"`
				} `json:"alerts"`
			}
			if err := json.Unmarshal([]byte(body), &msg); err != nil {
				t.Fatalf("the webhook got %q: %v", body, err)
			}
			for _, a := range msg.Alerts {
				if a.Labels["alertname"] == "EngineBusy" && a.Status == "firing" && a.Labels["engine"] == "main" && a.Labels["severity"] == "critical" {
					return
				}
			}
			t.Logf("webhook got another notification: %s", body)
		case <-deadline:
			t.Fatal("Alertmanager delivered no firing EngineBusy alert to the webhook within 60 s")
		}
	}
}

// serve starts an HTTP server on a free loopback port and returns the port.
func serve(t *testing.T, h http.HandlerFunc) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// waitQuery polls Prometheus's query API until query returns one sample
// with value want (or, when want is empty, any samples at all), for at
// most 30 s.
func waitQuery(t *testing.T, c *http.Client, api, query, want string) {
	t.Helper()
	var last string
	for i := 0; i < 60; i++ {
		resp, err := c.Get(api + "?query=" + url.QueryEscape(query))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			var r struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			if json.Unmarshal(b, &r) == nil {
				if want == "" && len(r.Data.Result) > 0 {
					return
				}
				if len(r.Data.Result) == 1 {
					if v, _ := r.Data.Result[0].Value[1].(string); v == want {
						return
					}
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Prometheus never answered %s with %q; last answer: %s", query, want, last)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	writeFile(t, to, readString(t, from), 0o644)
}

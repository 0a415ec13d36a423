package tests

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/modules/metrics"
	"github.com/sovereign-collective/sovereign/modules/usage"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// usageEngine is a fake vLLM started with --enable-force-include-usage: every
// chat completion, streamed or not, ends with the usage object, whose
// counts depend on the request. It keeps the sums it reported per member
// (the X-Sovereign-Member the gateway sends) and model: what the counters
// must show.
type usageEngine struct {
	mu     sync.Mutex
	totals map[[2]string][3]int // member, model → prompt, completion, answers
}

func (ue *usageEngine) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 {
		http.Error(w, "not a chat completion", http.StatusBadRequest)
		return
	}
	// Four-digit counts, so that the number the test splits below
	// straddles two writes.
	prompt, completion := 1000+len(req.Messages[0].Content), 3
	if !req.Stream {
		completion = 5
	}
	ue.mu.Lock()
	key := [2]string{r.Header.Get("X-Sovereign-Member"), req.Model}
	sum := ue.totals[key]
	ue.totals[key] = [3]int{sum[0] + prompt, sum[1] + completion, sum[2] + 1}
	ue.mu.Unlock()

	usageJSON := fmt.Sprintf(`{"prompt_tokens":%d,"total_tokens":%d,"completion_tokens":%d,"prompt_tokens_details":null}`, prompt, prompt+completion, completion)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"five tokens of plain answer"},"finish_reason":"stop"}],"usage":%s}`, req.Model, usageJSON)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flush := func() { w.(http.Flusher).Flush(); time.Sleep(20 * time.Millisecond) }
	for i := 0; i < completion; i++ {
		finish := "null"
		if i == completion-1 {
			finish = `"stop"`
		}
		// A model may write the names of usage's keys: escaped inside a
		// string, they are no keys and must not count.
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok{\\\"prompt_tokens\\\": 99999} \"},\"finish_reason\":%s}]}\n\n", req.Model, finish)
		flush()
	}
	last := fmt.Sprintf("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":%s}\n\n", req.Model, usageJSON)
	// The usage arrives in two writes, cut inside the prompt count.
	cut := strings.Index(last, `"prompt_tokens":`) + len(`"prompt_tokens":`) + 2
	io.WriteString(w, last[:cut])
	flush()
	io.WriteString(w, last[cut:])
	flush()
	io.WriteString(w, "data: [DONE]\n\n")
}

func (ue *usageEngine) total(member, model string) [3]int {
	ue.mu.Lock()
	defer ue.mu.Unlock()
	return ue.totals[[2]string{member, model}]
}

// sdkDir is the folder of the OpenAI SDK's scripts; .ci/run installs the
// SDK there with `npm ci`.
func sdkDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("sdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the OpenAI SDK is not installed (npm ci --prefix tests/sdk): %v (CI=true: peer checks never skip)", err)
		}
		t.Skipf("the OpenAI SDK is not installed: npm ci --prefix tests/sdk (%v)", err)
	}
	return dir
}

// TestUsagePerMemberEndToEnd proves per-member token accounting with the
// real parts: two members' clients (the official OpenAI SDK for Node.js)
// stream and ask through the rendered gateway (Debian's nginx with njs) to
// fake engines that report usage as vLLM does; the real mtail reads the
// rendered program and the usage log nginx writes; the real Prometheus
// scrapes mtail with the rendered configuration and answers each member's
// tokens — the same sums the engines reported.
func TestUsagePerMemberEndToEnd(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	mtail := peers.Tool(t, "mtail")
	prometheus := peers.Tool(t, "prometheus")
	node := peers.Tool(t, "node")
	requireNJS(t)
	sdk := sdkDir(t)

	main, fast := &usageEngine{totals: map[[2]string][3]int{}}, &usageEngine{totals: map[[2]string][3]int{}}
	fx := newGatewayBlueprint(t, "http://127.0.0.1:1", serve(t, main.serve), serve(t, fast.serve))
	withMetrics(t, fx, "  scrape_interval = \"1s\"\n")
	out, res := build(t, blueprintCase{name: "usage", path: fx.path})
	rootfs := filepath.Join(out, output.RootfsDir)
	sg := stageGateway(t, res)
	if sg.usageLog == "" {
		t.Fatal("a gateway with a metrics block writes no usage log")
	}
	// vLLM returns usage in every stream only when told to.
	for _, eng := range []string{"main", "fast"} {
		unit := readString(t, filepath.Join(rootfs, "etc/containers/systemd/vllm-"+eng+".container"))
		if !strings.Contains(unit, "--enable-force-include-usage") {
			t.Errorf("vllm-%s does not force usage into streams:\n%s", eng, unit)
		}
	}

	dir := t.TempDir()
	mtailPort, promPort := gwPort(t), gwPort(t)
	// The status page asks this test's Prometheus.
	statusJS := filepath.Join(sg.dir, "root", gateway.StatusJS)
	writeFile(t, statusJS, gwReplace(t, readString(t, statusJS), fmt.Sprintf("127.0.0.1:%d", metrics.PrometheusPort), fmt.Sprintf("127.0.0.1:%d", promPort)), 0o644)
	gwStart(t, filepath.Join(dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)
	copyFile(t, filepath.Join(rootfs, metrics.MtailProgram), filepath.Join(dir, "progs", "usage.mtail"))
	gwStart(t, filepath.Join(dir, "mtail.log"), os.Environ(), mtail,
		"--progs", filepath.Join(dir, "progs"), "--logs", sg.counted, "--logtostderr",
		"--address", "127.0.0.1", "--port", fmt.Sprint(mtailPort), "--emit_prog_label=false")

	promConf := readString(t, filepath.Join(rootfs, metrics.PrometheusConf))
	promConf = gwReplace(t, promConf, fmt.Sprintf("127.0.0.1:%d", metrics.MtailPort), fmt.Sprintf("127.0.0.1:%d", mtailPort))
	promConf = gwReplace(t, promConf, fmt.Sprintf("127.0.0.1:%d", metrics.PrometheusPort), fmt.Sprintf("127.0.0.1:%d", promPort))
	promConf = gwReplace(t, promConf, "/etc/prometheus/rules/*.yml", filepath.Join(dir, "no-rules", "*.yml"))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConf, 0o644)
	gwStart(t, filepath.Join(dir, "prometheus.log"), os.Environ(), prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))

	client := &http.Client{Timeout: 5 * time.Second}
	gwWaitReady(t, client, fmt.Sprintf("http://127.0.0.1:%d/metrics", mtailPort))
	gwWaitReady(t, client, fmt.Sprintf("http://127.0.0.1:%d/-/ready", promPort))
	writeFile(t, filepath.Join(dir, "ca.pem"), string(fx.caCert), 0o644)
	gw := fmt.Sprintf("https://127.0.0.1:%d", fx.httpsPort)

	// Alice by model on the route by model, Dave (whose key the blueprint
	// holds only as a hash) on the route by path; each streams once and
	// asks once, twice over.
	calls := []struct{ member, key, base, model, prompt string }{
		{"alice", fx.alice, gw + "/v1", "qwen3-30b", "Say hello."},
		{"dave", fx.dave, gw + "/fast/v1", "qwen3-30b-fast", "Count the tokens of this somewhat longer prompt."},
		{"alice", fx.alice, gw + "/v1", "qwen3-30b", "Again, in other words."},
		{"dave", fx.dave, gw + "/fast/v1", "qwen3-30b-fast", "Short."},
	}
	for _, c := range calls {
		cmd := exec.Command(node, filepath.Join(sdk, "chat.mjs"), c.base, c.key, c.model, c.prompt)
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+filepath.Join(dir, "ca.pem"))
		got, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s's client: %v\n%s%s", c.member, err, got, stderr)
		}
		var seen struct {
			Stream, Plain struct {
				Text  string
				Usage *struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
				}
			}
		}
		if err := json.Unmarshal(got, &seen); err != nil {
			t.Fatalf("%s's client printed %q: %v", c.member, got, err)
		}
		// The answer passes the body filter unchanged.
		if seen.Stream.Usage == nil || seen.Plain.Usage == nil || seen.Stream.Usage.PromptTokens != 1000+len(c.prompt) ||
			!strings.HasPrefix(seen.Stream.Text, `tok{"prompt_tokens": 99999} `) || seen.Plain.Text != "five tokens of plain answer" {
			t.Errorf("%s's client read %s", c.member, got)
		}
	}

	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1/query", promPort)
	for _, c := range []struct {
		member, model string
		engine        *usageEngine
	}{{"alice", "qwen3-30b", main}, {"dave", "qwen3-30b-fast", fast}} {
		want := c.engine.total(c.member, c.model)
		if want[2] != 4 {
			t.Fatalf("engine saw %d answers for %s, want 4 (two streams, two plain)", want[2], c.member)
		}
		sel := fmt.Sprintf(`{job=%q,member=%q,model=%q}`, metrics.JobUsage, c.member, c.model)
		waitQuery(t, client, api, usage.PromptTokens+sel, fmt.Sprint(want[0]))
		waitQuery(t, client, api, usage.CompletionTokens+sel, fmt.Sprint(want[1]))
		waitQuery(t, client, api, usage.Requests+sel, "4")
	}
	// The status page shows each member their own tokens and nobody
	// else's, and the engines (which this test's fakes do not let
	// Prometheus scrape: down).
	// Prometheus scrapes the engines' job on its own schedule, apart from
	// the usage counters': the page lists them once both were scraped.
	waitQuery(t, client, api, fmt.Sprintf(`count(up{job=%q})`, metrics.JobEngine), "2")
	gwc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(fx.caCert)}}, Timeout: 10 * time.Second}
	for _, c := range []struct {
		member, key, model string
		engine             *usageEngine
	}{{"alice", fx.alice, "qwen3-30b", main}, {"dave", fx.dave, "qwen3-30b-fast", fast}} {
		want := c.engine.total(c.member, c.model)
		got := gwDo(t, gwc, "GET", gw+"/status", map[string]string{"Authorization": "Bearer " + c.key, "X-Sovereign-Member": "bob"}, "")
		var page struct {
			Member  string
			Engines []struct {
				Engine, Model string
				Up            bool
			}
			Usage []struct {
				Model string
				R     int `json:"requests"`
				P     int `json:"prompt_tokens"`
				C     int `json:"completion_tokens"`
			} `json:"usage_since_counters_started"`
		}
		if got.status != 200 || json.Unmarshal([]byte(got.body), &page) != nil {
			t.Fatalf("%s's status page: %d %q", c.member, got.status, got.body)
		}
		if page.Member != c.member || len(page.Usage) != 1 || page.Usage[0].Model != c.model ||
			page.Usage[0].R != want[2] || page.Usage[0].P != want[0] || page.Usage[0].C != want[1] {
			t.Errorf("%s's status page: %s, want only their %d requests, %d and %d tokens of %s", c.member, got.body, want[2], want[0], want[1], c.model)
		}
		if len(page.Engines) != 2 || page.Engines[0].Engine != "fast" || page.Engines[1].Engine != "main" || page.Engines[1].Model != "qwen3-30b" || page.Engines[0].Up {
			t.Errorf("%s's status page lists engines %+v, want fast and main, down", c.member, page.Engines)
		}
	}
	if got := gwDo(t, gwc, "GET", gw+"/status", nil, ""); got.status != 401 {
		t.Errorf("the status page without a key: %d %q, want 401", got.status, got.body)
	}

	// Nobody else was counted, and every panel of the members' dashboard
	// finds the series Prometheus holds.
	waitQuery(t, client, api, fmt.Sprintf("count(%s)", usage.Requests), "2")
	var board metrics.Dashboard
	if err := json.Unmarshal([]byte(readString(t, filepath.Join(rootfs, metrics.DashboardsDir, "sovereign-members.json"))), &board); err != nil {
		t.Fatal(err)
	}
	for _, p := range board.Panels {
		for _, tg := range p.Targets {
			waitQuery(t, client, api, tg.Expr, "")
		}
	}
}

// caPool trusts the PEM certificate given.
func caPool(pemCert []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCert)
	return pool
}

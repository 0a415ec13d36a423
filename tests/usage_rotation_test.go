package tests

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// TestUsageLogRotation rotates the usage log with the rendered script while
// members' requests, streams among them, are in flight through Debian's
// nginx, and checks that the real mtail's counters still equal what the
// engine reported: nothing lost at the rename, nothing counted twice, and
// nginx writing the new file once told to reopen.
func TestUsageLogRotation(t *testing.T) {
	nginx := peers.Tool(t, "nginx")
	mtail := peers.Tool(t, "mtail")
	requireNJS(t)

	engine := &usageEngine{totals: map[[2]string][3]int{}}
	fx := newGatewayBlueprint(t, "http://127.0.0.1:1", serve(t, engine.serve), serve(t, engine.serve))
	withMetrics(t, fx, "")
	out, res := build(t, blueprintCase{name: "rotation", path: fx.path})
	rootfs := filepath.Join(out, output.RootfsDir)
	sg := stageGateway(t, res)

	// The appliance rotates daily, keeping a week, and signals nginx's
	// container; the test runs the same script with its own nginx.
	svc := readString(t, filepath.Join(rootfs, "etc/systemd/system", gateway.RotateService))
	wantExec := fmt.Sprintf("ExecStart=%s %s %s %d %d podman kill --signal USR1 sovereign-nginx",
		gateway.RotateScript, usage.LogFile, usage.CountedLink, gateway.RotatedKept, gateway.RotateGrace)
	if !strings.Contains(svc, wantExec) {
		t.Errorf("%s does not run %q:\n%s", gateway.RotateService, wantExec, svc)
	}
	if timer := readString(t, filepath.Join(rootfs, "etc/systemd/system", gateway.RotateTimer)); !strings.Contains(timer, "OnCalendar=daily") {
		t.Errorf("%s is not daily:\n%s", gateway.RotateTimer, timer)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "rotate-usage-log")
	copyFile(t, filepath.Join(rootfs, gateway.RotateScript), script)
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}

	// Started as root, nginx's workers run as nobody: they reopen the
	// log themselves after the signal.
	nginxProc := gwStart(t, filepath.Join(dir, "nginx.log"), os.Environ(), nginx, sg.nginxArgs("daemon off;")...)
	mtailPort := gwPort(t)
	copyFile(t, filepath.Join(rootfs, metrics.MtailProgram), filepath.Join(dir, "progs", "usage.mtail"))
	gwStart(t, filepath.Join(dir, "mtail.log"), os.Environ(), mtail,
		"--progs", filepath.Join(dir, "progs"), "--logs", sg.counted, "--logtostderr",
		"--address", "127.0.0.1", "--port", fmt.Sprint(mtailPort), "--emit_prog_label=false")
	mtailURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", mtailPort)
	plain := &http.Client{Timeout: 5 * time.Second}
	gwWaitReady(t, plain, mtailURL)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(fx.caCert)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(transport.CloseIdleConnections)
	api := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	gw := fmt.Sprintf("https://127.0.0.1:%d", fx.httpsPort)
	gwWaitReady(t, api, gw+"/health")
	ask := func(i int) error {
		body := fmt.Sprintf(`{"model":"qwen3-30b","stream":%t,"messages":[{"role":"user","content":"question %d"}]}`, i%2 == 0, i)
		req, err := http.NewRequest("POST", gw+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+fx.alice)
		resp, err := api.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("request %d: %s", i, resp.Status)
		}
		return nil
	}
	rotate := func() {
		t.Helper()
		// Half a second to signal nginx, as `podman kill` may take: mtail
		// looks at its link meanwhile and must still find the old file.
		cmd := exec.Command(script, sg.usageLog, sg.counted, "2", "1",
			"sh", "-c", `sleep 0.5 && exec kill -USR1 "$0"`, fmt.Sprint(nginxProc.cmd.Process.Pid))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rotate-usage-log: %v\n%s", err, out)
		}
	}

	// mtail may find its log a moment after it listens, and reads a log
	// it finds at start from its end: the load starts once it tails one
	// (its log_count) and has had a moment to reach that end.
	waitExpvar(t, plain, fmt.Sprintf("http://127.0.0.1:%d/debug/vars", mtailPort), `"log_count": 1`)
	time.Sleep(300 * time.Millisecond)
	if err := ask(-1); err != nil {
		t.Fatal(err)
	}

	// Four clients, streams (about 100 ms each) and plain answers, for
	// about five seconds while the log is rotated three times, each
	// rotation taking a second's grace (the appliance: five, once a day).
	// 64 requests in all stay within the blueprint's gateway-wide burst
	// of 80, with the first and the last five.
	const clients, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := ask(c*each + i); err != nil {
					errs <- err
				}
				time.Sleep(250 * time.Millisecond)
			}
		}(c)
	}
	for i := 0; i < 3; i++ {
		time.Sleep(300 * time.Millisecond)
		rotate()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Answers after the last rotation go to a new log: nginx reopened it.
	for i := 0; i < 4; i++ {
		if err := ask(1000 + i); err != nil {
			t.Fatal(err)
		}
	}
	if target, err := os.Readlink(sg.counted); err != nil || target != filepath.Base(sg.usageLog) {
		t.Errorf("after rotating, mtail's link names %q (%v), want %s", target, err, filepath.Base(sg.usageLog))
	}
	// nginx logs an answer once it is sent: give the last one a moment.
	lines := 0
	for i := 0; i < 40 && lines < 4; i++ {
		time.Sleep(50 * time.Millisecond)
		lines = countLines(t, sg.usageLog)
	}
	if lines < 4 {
		t.Errorf("the log nginx reopened after the last rotation has %d lines, want at least the 4 answers since", lines)
	}
	// KEEP 2: the oldest rotated log is gone.
	for _, suffix := range []string{".1", ".2"} {
		if countLines(t, sg.usageLog+suffix) == 0 {
			t.Errorf("rotated log %s is empty", filepath.Base(sg.usageLog)+suffix)
		}
	}
	if _, err := os.Stat(sg.usageLog + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists (%v): rotation keeps 2", filepath.Base(sg.usageLog), err)
	}

	want := engine.total("alice", "qwen3-30b")
	if want[2] != clients*each+5 {
		t.Fatalf("engine answered %d requests, want %d", want[2], clients*each+5)
	}
	for _, c := range []struct {
		name string
		want int
	}{{usage.PromptTokens, want[0]}, {usage.CompletionTokens, want[1]}, {usage.Requests, want[2]}} {
		waitCounter(t, plain, mtailURL, c.name, []string{`member="alice"`, `model="qwen3-30b"`}, c.want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "nginx.log")); err == nil && strings.Contains(string(b), "reopen") && strings.Contains(string(b), "failed") {
		t.Errorf("nginx could not reopen the usage log:\n%s", b)
	}
}

// countLines is the number of lines of the file at p.
func countLines(t *testing.T, p string) int {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		n++
	}
	return n
}

// waitCounter polls an exporter's /metrics until the series name with
// every one of labels has the value want, for at most 15 s.
func waitCounter(t *testing.T, c *http.Client, url, name string, labels []string, want int) {
	t.Helper()
	sample := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `\{([^}]*)\} (\S+)$`)
	var last string
	for i := 0; i < 60; i++ {
		last = ""
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				m := sample.FindStringSubmatch(line)
				if m == nil || !hasAll(m[1], labels) {
					continue
				}
				last = m[2]
				if last == fmt.Sprint(want) {
					return
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("%s{%s} is %q, want %d", name, strings.Join(labels, ","), last, want)
}

func hasAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// waitExpvar polls a Go program's /debug/vars until it shows want, for at
// most 10 s.
func waitExpvar(t *testing.T, c *http.Client, url, want string) {
	t.Helper()
	var last string
	for i := 0; i < 100; i++ {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if last = string(b); strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never showed %s:\n%s", url, want, last)
}

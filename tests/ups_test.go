package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/modules/ups"
)

// TestUPSOnBattery runs the NUT configuration sovereign renders with Debian's
// NUT — the dummy-ups driver, upsd, upsmon, upssched — and the rendered hook
// scripts, against a fake engine. Only what cannot run in a test is
// redirected: files into a scratch folder, the driver to dummy-ups, upsd to
// a free loopback port, systemctl to a recorder and the shutdown command to
// a marker. Then the simulated UPS goes on battery:
//   - power stays out: drain flag → the in-flight request completes → the
//     engine is stopped → the shutdown command runs, each no earlier than
//     the blueprint says;
//   - power comes back before the deadline: the drain is lifted, the engine
//     the drain stopped is started again, and nothing shuts down.
func TestUPSOnBattery(t *testing.T) {
	needRoot(t)
	nut := map[string]string{}
	for _, name := range []string{"dummy-ups", "upsd", "upsmon"} {
		nut[name] = needFile(t, "/lib/nut/"+name)
	}
	upsc := needCommand(t, "upsc")
	needCommand(t, "upssched")
	needCommand(t, "curl")
	if _, err := user.Lookup("nut"); err != nil {
		missingPeer(t, "no nut user (apt-get install nut-server)")
	}
	lockUPSTests(t)

	t.Run("power stays out", func(t *testing.T) {
		r := startNUT(t, nut, upsc)
		inflight := r.engine.request(t) // holds until the drain flag has been up 2 s
		t0 := r.setStatus(t, "OB DISCHRG")

		tShutdown := waitFor(t, "the shutdown command", 60*time.Second, func() bool { return r.event("shutdown") != nil })
		res := <-inflight
		if res.err != nil || res.status != http.StatusOK {
			t.Fatalf("the in-flight request did not complete: status %d, %v", res.status, res.err)
		}
		tDrain, tStop := r.drainedAt(), r.event("stop vllm-main.service")
		if tDrain.IsZero() || tStop == nil {
			t.Fatalf("drain flag raised at %v, engine stop %v; events:\n%s", tDrain, tStop, r.events())
		}
		t.Logf("on battery at 0s: drain flag %s, request done %s, engine stopped %s, shutdown command %s",
			since(t0, tDrain), since(t0, res.done), since(t0, *tStop), since(t0, tShutdown))
		t.Logf("events:\n%s", r.events())

		order := []struct {
			what string
			at   time.Time
		}{{"drain flag", tDrain}, {"in-flight request done", res.done}, {"engine stop", *tStop}, {"shutdown command", tShutdown}}
		for i := 1; i < len(order); i++ {
			if !order[i-1].at.Before(order[i].at) {
				t.Errorf("%s (%s) came before %s (%s)", order[i].what, since(t0, order[i].at), order[i-1].what, since(t0, order[i-1].at))
			}
		}
		// Never early: the timers count from the moment upsmon saw the
		// power fail, which is after t0.
		if d := tDrain.Sub(t0); d < r.drainAfter {
			t.Errorf("drain flag after %s, before drain_after %s", d, r.drainAfter)
		}
		if d := tShutdown.Sub(t0); d < r.shutdownAfter {
			t.Errorf("shutdown after %s, before shutdown_after %s", d, r.shutdownAfter)
		}
		if at := r.event("upsmon -c fsd"); at == nil || at.Before(*tStop) || at.After(tShutdown) {
			t.Errorf("upsmon -c fsd at %v: want it between the engine stop and the shutdown", at)
		}
		if n := r.engine.maxRunning.Load(); n != 1 {
			t.Errorf("the fake engine saw %d requests at once, want 1", n)
		}
	})

	t.Run("busy engine stopped at the deadline", func(t *testing.T) {
		r := startNUT(t, nut, upsc)
		stuck := r.engine.stuck(t) // a stream that does not end by itself
		t0 := r.setStatus(t, "OB DISCHRG")
		tDrain := waitFor(t, "the drain flag", 30*time.Second, func() bool { return exists(r.drainFlag) })
		// A gateway restarting mid-drain takes the flag's folder with it;
		// the drain puts the flag back.
		if err := os.RemoveAll(filepath.Dir(r.drainFlag)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the drain flag to be put back", 10*time.Second, func() bool { return exists(r.drainFlag) })
		tStop := waitFor(t, "the engine stop", r.stopWithin+30*time.Second, func() bool { return r.event("stop vllm-main.service") != nil })
		t.Logf("on battery at 0s: drain flag %s, busy engine stopped %s", since(t0, tDrain), since(t0, tStop))
		if d := tStop.Sub(tDrain); d < r.stopWithin-time.Second {
			t.Errorf("the busy engine was stopped %s after the drain began, before stop_engines_within %s", d, r.stopWithin)
		}
		select {
		case <-stuck:
			t.Fatal("the stuck request ended before the engine stop")
		default:
		}
		waitFor(t, "the shutdown command", 60*time.Second, func() bool { return r.event("shutdown") != nil })
	})

	t.Run("low battery shuts down before shutdown_after", func(t *testing.T) {
		r := startNUT(t, nut, upsc)
		t0 := r.setStatus(t, "OB DISCHRG")
		waitFor(t, "the drain flag", 30*time.Second, func() bool { return exists(r.drainFlag) })
		tLow := r.setStatus(t, "OB LB")
		tShutdown := waitFor(t, "the shutdown command", 30*time.Second, func() bool { return r.event("shutdown") != nil })
		t.Logf("on battery at 0s: low battery %s, shutdown command %s (shutdown_after %s)", since(t0, tLow), since(t0, tShutdown), r.shutdownAfter)
		// upsmon's own critical-state shutdown, not the poweroff timer.
		if at := r.event("upsmon -c fsd"); at != nil {
			t.Errorf("upsmon -c fsd ran at %s: the shutdown should come from low battery", since(t0, *at))
		}
	})

	t.Run("power back while draining a busy engine", func(t *testing.T) {
		r := startNUT(t, nut, upsc)
		r.engine.stuck(t)
		t0 := r.setStatus(t, "OB DISCHRG")
		waitFor(t, "the drain flag", 30*time.Second, func() bool { return exists(r.drainFlag) })
		tOnline := r.setStatus(t, "OL")
		waitFor(t, "the drain flag to be lifted", 30*time.Second, func() bool { return !exists(r.drainFlag) })
		// Past the moment the busy engine would have been stopped.
		time.Sleep(time.Until(tOnline.Add(r.stopWithin + 3*time.Second)))
		if ev := r.events(); ev != "" {
			t.Errorf("power came back at %s while draining, yet:\n%s", since(t0, tOnline), ev)
		}
	})

	t.Run("power comes back", func(t *testing.T) {
		r := startNUT(t, nut, upsc)
		t0 := r.setStatus(t, "OB DISCHRG")
		tDrain := waitFor(t, "the drain flag", 30*time.Second, func() bool { return exists(r.drainFlag) })
		// The engine is idle, so the drain stops it at once.
		waitFor(t, "the engine stop", 30*time.Second, func() bool { return r.event("stop vllm-main.service") != nil })
		tOnline := r.setStatus(t, "OL")
		tLifted := waitFor(t, "the drain flag to be lifted", 30*time.Second, func() bool { return !exists(r.drainFlag) })
		waitFor(t, "the engine start", 10*time.Second, func() bool { return r.event("start --no-block vllm-main.service") != nil })
		t.Logf("on battery at 0s: drain flag %s, power back %s, drain lifted %s", since(t0, tDrain), since(t0, tOnline), since(t0, tLifted))

		// Stay until well past the moment the shutdown would have come.
		quiet := time.Until(t0.Add(r.shutdownAfter + 10*time.Second))
		time.Sleep(quiet)
		if at := r.event("shutdown"); at != nil {
			t.Errorf("the shutdown command ran at %s although power came back at %s", since(t0, *at), since(t0, tOnline))
		}
		if exists(r.drainFlag) {
			t.Error("the drain flag is up again")
		}
		t.Logf("events:\n%s", r.events())
	})
}

// nutRun is one run of NUT over the rendered configuration.
type nutRun struct {
	dir, drainFlag, eventLog, devFile string
	upsName, upsc, addr               string
	engine                            *fakeEngine
	drainAfter, shutdownAfter         time.Duration
	stopWithin                        time.Duration
	drainSeen                         atomic.Int64 // unix nanos of the first sight of the drain flag
}

// startNUT builds the resilience blueprint with a fake engine's port, lays
// out the rendered NUT files in a scratch folder, and starts the driver,
// upsd and upsmon with the simulated UPS on line power. Everything stops
// when the test ends.
func startNUT(t *testing.T, nut map[string]string, upsc string) *nutRun {
	eng := startFakeEngine(t)
	out, res := build(t, resilienceCase(lang.VarSetting{Name: "engine_port", Value: strconv.Itoa(eng.port)}))
	spec, diags := ups.Resolve(res.Blueprint.UPS)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the driver and upsd run as nut
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := &nutRun{
		dir: dir, drainFlag: filepath.Join(dir, "run", "drain"), eventLog: filepath.Join(dir, "events.log"),
		devFile: filepath.Join(dir, "etc", spec.Name+".dev"), upsName: spec.Name, upsc: upsc, engine: eng,
		drainAfter: spec.OnBattery.DrainAfter, shutdownAfter: spec.OnBattery.ShutdownAfter, stopWithin: spec.OnBattery.StopEnginesWithin,
	}
	eng.flag.Store(r.drainFlag)
	etc, state, pid, bin := filepath.Join(dir, "etc"), filepath.Join(dir, "state"), filepath.Join(dir, "pid"), filepath.Join(dir, "bin")
	for _, d := range []string{etc, state, pid, bin, filepath.Join(dir, "sched")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nutUser, _ := user.Lookup("nut")
	uid, _ := strconv.Atoi(nutUser.Uid)
	gid, _ := strconv.Atoi(nutUser.Gid)
	for _, d := range []string{state, pid} {
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	r.addr = fmt.Sprintf("%s@127.0.0.1:%d", spec.Name, port)

	// The rendered files, with the test's redirections.
	upsConf := renderedFile(t, out, ups.ConfDir+"/ups.conf")
	upsConf = replaceLine(t, upsConf, `\tdriver = usbhid-ups`, "\tdriver = dummy-ups\n\tmode = dummy-once")
	upsConf = replaceLine(t, upsConf, `\tport = auto`, "\tport = "+spec.Name+".dev")
	writeFile(t, filepath.Join(etc, "ups.conf"), upsConf, 0o644)
	writeFile(t, filepath.Join(etc, "nut.conf"), renderedFile(t, out, ups.ConfDir+"/nut.conf"), 0o644)
	writeFile(t, filepath.Join(etc, "upsd.conf"),
		replaceLine(t, renderedFile(t, out, ups.ConfDir+"/upsd.conf"), `LISTEN 127\.0\.0\.1 3493`, fmt.Sprintf("LISTEN 127.0.0.1 %d", port)), 0o644)
	sched := renderedFile(t, out, ups.ConfDir+"/upssched.conf")
	sched = replaceLine(t, sched, `CMDSCRIPT /usr/local/libexec/sovereign/ups-event`, "CMDSCRIPT "+filepath.Join(bin, "ups-event"))
	sched = replaceLine(t, sched, `PIPEFN /run/nut/upssched/upssched.pipe`, "PIPEFN "+filepath.Join(dir, "sched", "upssched.pipe"))
	sched = replaceLine(t, sched, `LOCKFN /run/nut/upssched/upssched.lock`, "LOCKFN "+filepath.Join(dir, "sched", "upssched.lock"))
	writeFile(t, filepath.Join(etc, "upssched.conf"), sched, 0o644)
	templates := filepath.Join(dir, "templates")
	for _, f := range []string{"upsd.users.in", "upsmon.conf.in"} {
		text := renderedFile(t, out, ups.TemplateDir+"/"+f)
		if f == "upsmon.conf.in" {
			text = replaceLine(t, text, `MONITOR lab@127\.0\.0\.1:3493 1 upsmon @PASSWORD@ primary`, fmt.Sprintf("MONITOR %s 1 upsmon @PASSWORD@ primary", r.addr))
			text = replaceLine(t, text, `SHUTDOWNCMD "/usr/sbin/shutdown -h \+0"`, `SHUTDOWNCMD "`+filepath.Join(bin, "shutdown")+`"`)
			text = replaceLine(t, text, `POWERDOWNFLAG /etc/killpower`, "POWERDOWNFLAG "+filepath.Join(dir, "killpower"))
		}
		writeFile(t, filepath.Join(templates, f), text, 0o644)
	}
	writeFile(t, filepath.Join(bin, "ups-event"), renderedFile(t, out, ups.EventScript), 0o755)
	writeFile(t, filepath.Join(bin, "ups-config"), renderedFile(t, out, ups.ConfigScript), 0o755)
	writeFile(t, filepath.Join(bin, "systemctl"), "#!/bin/sh\necho \"$(date +%s.%N) $*\" >>"+r.eventLog+"\n", 0o755)
	writeFile(t, filepath.Join(bin, "upsmon"), "#!/bin/sh\necho \"$(date +%s.%N) upsmon $*\" >>"+r.eventLog+"\nexec "+nut["upsmon"]+" \"$@\"\n", 0o755)
	writeFile(t, filepath.Join(bin, "shutdown"), "#!/bin/sh\necho \"$(date +%s.%N) shutdown uid=$(id -u)\" >>"+r.eventLog+"\n", 0o755)
	writeFile(t, r.devFile, "ups.status: OL\nbattery.charge: 100\nbattery.charge.low: 20\nbattery.runtime: 300\nups.load: 40\n", 0o644)

	env := append(os.Environ(),
		"NUT_CONFPATH="+etc, "NUT_STATEPATH="+state, "NUT_ALTPIDPATH="+pid,
		"SOVEREIGN_DRAIN_FLAG="+r.drainFlag, "SOVEREIGN_UPS_STATE="+filepath.Join(dir, "ups-state"),
		"SOVEREIGN_SYSTEMCTL="+filepath.Join(bin, "systemctl"), "SOVEREIGN_UPSMON="+filepath.Join(bin, "upsmon"),
	)
	// The rendered first-boot script writes upsd.users and upsmon.conf
	// with the blueprint's password, 0640 root:nut.
	rendered := filepath.Join(dir, "ups-password")
	writeFile(t, rendered, renderedFile(t, out, ups.PasswordFile), 0o600)
	run(t, env, filepath.Join(bin, "ups-config"), "SOVEREIGN_UPS_TEMPLATES="+templates, "SOVEREIGN_UPS_PASSWORD_FILE="+rendered)
	for _, f := range []string{"upsd.users", "upsmon.conf"} {
		p := filepath.Join(etc, f)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o640 || st.Uid != 0 || int(st.Gid) != gid {
			t.Errorf("%s: mode %04o owner %d:%d, want 0640 root:nut", f, fi.Mode().Perm(), st.Uid, st.Gid)
		}
		if b, _ := os.ReadFile(p); !bytes.Contains(b, []byte("lab-ups-password-0123")) || bytes.Contains(b, []byte("@PASSWORD@")) {
			t.Errorf("%s does not carry the blueprint's password:\n%s", f, b)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var procs []*exec.Cmd
	var logs []*bytes.Buffer
	start := func(name string, args ...string) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, logs = append(procs, cmd), append(logs, &buf)
	}
	t.Cleanup(func() {
		cancel()
		for _, p := range procs {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL) // the process group: upsmon's child too
			_ = p.Wait()
			// upsmon's pid file is compiled in (/run/nut); remove ours.
			if strings.TrimSpace(readOr(upsmonPidFile)) == strconv.Itoa(p.Process.Pid) {
				_ = os.Remove(upsmonPidFile)
			}
		}
		// upssched would exit by itself once its timers are done (its pipe
		// and hook live in dir, which is going away); stop it now. Its
		// command line names this run's upsd port, so it is ours.
		killUpssched(r.addr)
		if t.Failed() {
			for i, p := range procs {
				t.Logf("%s:\n%s", filepath.Base(p.Path), logs[i])
			}
		}
	})
	start(nut["dummy-ups"], "-a", spec.Name, "-u", "nut", "-F")
	waitFor(t, "the dummy-ups driver's socket", 20*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(state, "dummy-ups-*"))
		return len(m) > 0
	})
	start(nut["upsd"], "-u", "nut", "-F")
	waitFor(t, "upsd to report the UPS on line power", 20*time.Second, func() bool { return r.status() == "OL" })
	start(nut["upsmon"], "-F")
	// upsmon is watching once it has logged into upsd as a client.
	waitFor(t, "upsmon to log in to upsd", 30*time.Second, func() bool {
		out, _ := exec.Command(upsc, "-c", r.addr).Output()
		return bytes.Contains(out, []byte("127.0.0.1"))
	})
	go r.watchDrain(ctx)
	return r
}

// setStatus changes the simulated UPS's status; dummy-once re-reads its file
// when the modification time changes. It returns when upsd reports it.
func (r *nutRun) setStatus(t *testing.T, status string) time.Time {
	t.Helper()
	b, err := os.ReadFile(r.devFile)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(replaceLine(t, string(b), `ups\.status: .*`, "ups.status: "+status))
	writeFile(t, r.devFile, string(b), 0o644)
	future := time.Now().Add(time.Second) // a new mtime even within the same second
	_ = os.Chtimes(r.devFile, future, future)
	at := time.Now()
	waitFor(t, "upsd to report "+status, 20*time.Second, func() bool { return sameStatus(r.status(), status) })
	return at
}

// sameStatus compares UPS statuses ignoring FSD: upsd adds it as soon as
// upsmon decides to shut down, which on low battery can be before the test's
// next poll sees "OB LB" alone.
func sameStatus(got, want string) bool {
	var tokens []string
	for _, f := range strings.Fields(got) {
		if f != "FSD" {
			tokens = append(tokens, f)
		}
	}
	return strings.Join(tokens, " ") == want
}

func (r *nutRun) status() string {
	out, _ := exec.Command(r.upsc, r.addr, "ups.status").Output()
	return strings.TrimSpace(string(out))
}

func (r *nutRun) watchDrain(ctx context.Context) {
	for ctx.Err() == nil {
		if exists(r.drainFlag) && r.drainSeen.Load() == 0 {
			r.drainSeen.Store(time.Now().UnixNano())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *nutRun) drainedAt() time.Time {
	if n := r.drainSeen.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// event returns when the recorded systemctl or shutdown line starting with
// what was written, or nil.
func (r *nutRun) event(what string) *time.Time {
	f, err := os.Open(r.eventLog)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		stamp, rest, _ := strings.Cut(sc.Text(), " ")
		if strings.HasPrefix(rest, what) {
			sec, err := strconv.ParseFloat(stamp, 64)
			if err != nil {
				return nil
			}
			at := time.Unix(0, int64(sec*1e9))
			return &at
		}
	}
	return nil
}

func (r *nutRun) events() string {
	b, _ := os.ReadFile(r.eventLog)
	return string(b)
}

// run runs a rendered script with env plus extra variables and fails the
// test on error.
func run(t *testing.T, env []string, script string, extra ...string) {
	t.Helper()
	cmd := exec.Command(script)
	cmd.Env = append(append([]string(nil), env...), extra...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fakeEngine stands in for vLLM: /metrics reports vllm:num_requests_running
// and /v1/chat/completions holds each request until the drain flag has been
// up for two seconds, like a stream that finishes after the drain began.
type fakeEngine struct {
	port       int
	running    atomic.Int64
	maxRunning atomic.Int64
	flag       atomic.Value // the drain flag's path
}

type requestResult struct {
	status int
	done   time.Time
	err    error
}

func startFakeEngine(t *testing.T) *fakeEngine {
	e := &fakeEngine{}
	e.flag.Store("")
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# HELP vllm:num_requests_running Number of requests in model execution batches.\n# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\",model_name=\"qwen3-30b\"} %d.0\n", e.running.Load())
	})
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		n := e.running.Add(1)
		defer e.running.Add(-1)
		for m := e.maxRunning.Load(); n > m && !e.maxRunning.CompareAndSwap(m, n); m = e.maxRunning.Load() {
		}
		deadline := time.Now().Add(45 * time.Second)
		var seen time.Time
		for time.Now().Before(deadline) {
			if p := e.flag.Load().(string); p != "" && exists(p) {
				if seen.IsZero() {
					seen = time.Now()
				}
				if time.Since(seen) >= 2*time.Second {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Fprintln(w, `{"choices":[{"message":{"content":"done"}}]}`)
	})
	release := make(chan struct{})
	mux.HandleFunc("/v1/stuck", func(w http.ResponseWriter, r *http.Request) {
		e.running.Add(1)
		defer e.running.Add(-1)
		select {
		case <-release:
		case <-time.After(2 * time.Minute):
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.port = l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { close(release); srv.Close() })
	return e
}

// stuck starts a request that only ends when the test does.
func (e *fakeEngine) stuck(t *testing.T) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/stuck", e.port)); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the stuck request to reach the fake engine", 10*time.Second, func() bool { return e.running.Load() > 0 })
	return done
}

// request starts one chat request and reports when it completes.
func (e *fakeEngine) request(t *testing.T) <-chan requestResult {
	ch := make(chan requestResult, 1)
	before := e.running.Load()
	go func() {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", e.port), "application/json", strings.NewReader(`{}`))
		res := requestResult{err: err, done: time.Now()}
		if err == nil {
			res.status = resp.StatusCode
			resp.Body.Close()
		}
		ch <- res
	}()
	waitFor(t, "the request to reach the fake engine", 10*time.Second, func() bool { return e.running.Load() > before })
	return ch
}

// upsmonPidFile is where Debian's upsmon keeps its pid; it is compiled in,
// so two upsmons on one machine collide there whatever their folders.
const upsmonPidFile = "/run/nut/upsmon.pid"

// lockUPSTests makes UPS tests of concurrent `go test` runs on one machine
// (several worktrees, say) take turns, and clears a pid file left by a
// killed run. A real upsmon running here makes the test skip, or fail
// under CI=true: it would be told to shut the machine down.
func lockUPSTests(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "sovereign-ups-test.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "other UPS tests on this machine to finish", 5*time.Minute, func() bool {
		return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
	})
	t.Cleanup(func() { f.Close() }) // closing releases the lock
	pid, err := strconv.Atoi(strings.TrimSpace(readOr(upsmonPidFile)))
	if err != nil {
		return
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "upsmon" {
		missingPeer(t, fmt.Sprintf("an upsmon (pid %d) is running on this machine", pid))
	}
	_ = os.Remove(upsmonPidFile)
}

// killUpssched stops the upssched timer daemon that upsmon started for the
// UPS at addr (its argument is upsmon's message, "UPS NAME@HOST:PORT on
// battery").
func killUpssched(addr string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "upssched" && strings.Contains(string(b), " "+addr+" ") {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	}
}

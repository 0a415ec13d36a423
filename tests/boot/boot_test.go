//go:build boot

package boot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"golang.org/x/sync/errgroup"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/boot/report"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// scenario is one boot: a blueprint and how its stand-in engine behaves.
type scenario struct {
	name, blueprint string
	// readyAfter bounds how long the stand-in engine loads ("never": it
	// never finishes). With release, the probe ends the load as soon as it
	// has seen the gateway answer for the loading engine: the guest's CPU
	// is emulated, and how long it takes to get there depends on what else
	// the host's cores are doing, so no fixed load time is both short and
	// sure to be caught. readyAfter then only ends a boot whose gateway
	// never answers while the engine loads (a gateway ordered after the
	// engine), which the test reports.
	readyAfter string
	release    bool
}

// Both reference blueprints boot. The GB300 blueprint targets arm64; the
// guest is amd64 and every image is a stand-in anyway, so it boots here
// with the same amd64 stand-ins as the audition.
var scenarios = []scenario{
	{name: "dgx-station-gb300", blueprint: "../../blueprints/dgx-station-gb300.hcl", readyAfter: "5m", release: true},
	{name: "cloud-audition-h100-engine-never-healthy", blueprint: "../../blueprints/cloud-audition-h100.hcl", readyAfter: "never"},
}

// guestDeadline bounds the probe (seconds after the guest's kernel starts),
// vmTimeout the whole QEMU run. On two quiet cores, with both guests
// booting side by side, the longer boot settles in under three minutes;
// the limits leave more than twice that, and with prepareBudget stay
// within make boot-test's 20 minutes, so that a boot that hangs fails
// with its logs instead of running into CI's own limit.
const (
	guestDeadline = 420
	vmTimeout     = 8 * time.Minute
)

// TestBoot boots each scenario's appliance under QEMU and judges what the
// probe inside saw.
//
// The scenarios boot side by side, each guest with as many CPUs as the
// host has cores: an emulated boot has stretches one vCPU cannot fill
// (the kernel, udev, one unit waiting on another), which the other guest
// fills, and once the shorter boot is done the longer one has every core.
func TestBoot(t *testing.T) {
	kit := prepare(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			d := kit.assemble(t.Context(), testLog{t}, sc)
			if d.scratch != "" {
				t.Cleanup(func() { os.RemoveAll(d.scratch) })
			}
			if d.err != nil {
				t.Fatal(d.err)
			}
			t.Logf("guest disk made in %s", d.took.Round(time.Second))
			rep := kit.boot(t, sc, d)
			checkBoot(t, sc, d, rep)
		})
	}
}

// TestBootPrepare only builds what TestBoot caches (the guest's base root,
// Podman and runc): `make boot-cache` runs it so that a cold machine's build
// time shows on its own, apart from the boots.
func TestBootPrepare(t *testing.T) {
	prepare(t)
}

// prepareBudget bounds building the cache. Warm, it is seconds; cold, on two
// quiet cores, debootstrap and the Podman build, side by side, take about
// five minutes.
const prepareBudget = 10 * time.Minute

// kit is what every scenario shares: the cached base and runtime, the
// stand-in and probe binaries, the Ignition binary.
type kit struct {
	cache, ignition, standin, probe string
	base                            Base
	runtime                         Runtime
}

func prepare(t *testing.T) *kit {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "the boot test needs root: debootstrap, and Ignition chowns what it writes")
	}
	for _, tool := range []string{"debootstrap", "qemu-system-x86_64", "mkfs.ext4", "busybox", "nginx", "ldd", "tar"} {
		if _, err := lookPath(tool, "see .ci/run for the packages"); err != nil {
			missing(t, err.Error())
		}
	}
	if err := CheckTCG(t.Context()); err != nil {
		missing(t, err.Error())
	}
	k := &kit{ignition: peers.Tool(t, "ignition")}
	var err error
	if k.cache, err = Cache(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), prepareBudget)
	defer cancel()
	log := testLog{t}
	// Cold, the guest's base (mostly downloading and unpacking packages)
	// and the runtime (compiling) wait on different things: built side by
	// side they take little longer than the slower of the two.
	start := time.Now()
	var g errgroup.Group
	g.Go(func() (err error) {
		k.base, err = BuildBase(ctx, log, k.cache)
		t.Logf("guest base ready after %s", time.Since(start).Round(time.Second))
		return err
	})
	g.Go(func() (err error) {
		k.runtime, err = BuildRuntime(ctx, log, k.cache, "runtime")
		t.Logf("runtime ready after %s", time.Since(start).Round(time.Second))
		return err
	})
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	k.standin, k.probe = filepath.Join(bin, "standin"), filepath.Join(bin, "probe")
	for out, pkg := range map[string]string{k.standin: "./standin", k.probe: "./probe"} {
		if err := run(ctx, log, "", []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", out, pkg); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// missing skips a test that cannot run here, except under CI=true, where it
// fails: CI must never pass by skipping the boot.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the boot test never skips)", why)
	}
	t.Skip(why)
}

// testLog sends build and QEMU output to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// guestDisk is one scenario's guest, ready to boot.
type guestDisk struct {
	// scratch holds the disk and what made it; the test removes it.
	scratch, disk string
	cfg           *report.Config
	// health is the engine's rendered health check timing.
	health healthTiming
	took   time.Duration
	err    error
}

// assemble renders the scenario's blueprint and makes its guest's disk.
func (k *kit) assemble(ctx context.Context, log io.Writer, sc scenario) (d guestDisk) {
	start := time.Now()
	defer func() { d.took = time.Since(start) }()
	var err error
	if d.scratch, err = os.MkdirTemp("", "sovereign-boot-"); err != nil {
		d.err = err
		return d
	}
	// Not 0700: Ignition writes a user's home as that user, who must be
	// able to walk down to the guest's root.
	if d.err = os.Chmod(d.scratch, 0o755); d.err != nil {
		return d
	}
	out := filepath.Join(d.scratch, "out")
	res, err := render(sc.blueprint, out)
	if err != nil {
		d.err = err
		return d
	}
	g := &Guest{
		Ignition: filepath.Join(out, "ignition.json"), IgnitionBin: k.ignition,
		Blueprint: res.Blueprint, Tree: res.Tree, Standin: k.standin, Probe: k.probe,
		EngineReadyAfter: sc.readyAfter, ReleaseEngine: sc.release, WatchNeverHealthySeconds: 20, DeadlineSeconds: guestDeadline,
	}
	root := filepath.Join(d.scratch, "root")
	d.disk = filepath.Join(d.scratch, "disk.img")
	if d.cfg, d.err = Assemble(ctx, log, k.base, k.runtime, g, root); d.err != nil {
		return d
	}
	if d.health, d.err = engineHealthTiming(res.Tree, d.cfg.Engine); d.err != nil {
		return d
	}
	if d.err = MakeDisk(ctx, log, root, d.disk); d.err != nil {
		return d
	}
	d.err = os.RemoveAll(root)
	return d
}

// boot boots a scenario's disk and returns what the probe reported.
func (k *kit) boot(t *testing.T, sc scenario, d guestDisk) *report.Report {
	t.Helper()
	start := time.Now()
	logs := filepath.Join(k.cache, "logs", sc.name)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	vm := VM{Base: k.base, Disk: d.disk, Dir: logs, CPUs: runtime.NumCPU(), Timeout: vmTimeout}
	rep, err := vm.Boot(t.Context(), testLog{t})
	if err != nil {
		t.Fatalf("%v\nserial logs in %s", err, logs)
	}
	t.Logf("%s booted and probed in %s (logs: %s)", sc.name, time.Since(start).Round(time.Second), logs)
	return rep
}

// render builds the blueprint into out, as `sovereign build` does.
func render(blueprint, out string) (*pipeline.Result, error) {
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	res, diags := pipeline.Build(p, blueprint, lang.Inputs{})
	if diags.HasErrors() {
		return nil, fmt.Errorf("building %s: %s", blueprint, diags.Error())
	}
	if err := pipeline.Write(afero.NewOsFs(), out, res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkBoot judges one boot.
func checkBoot(t *testing.T, sc scenario, d guestDisk, rep *report.Report) {
	t.Helper()
	cfg := d.cfg
	defer func() {
		if t.Failed() {
			raw, _ := json.MarshalIndent(rep, "", "  ")
			t.Logf("probe report:\n%s", raw)
		}
	}()
	for _, e := range rep.Errors {
		t.Errorf("probe: %s", e)
	}
	if t.Failed() {
		t.Logf("systemd jobs at the end:\n%s", rep.Jobs)
	}
	if !rep.FirstBoot {
		t.Error("systemd did not take the guest's boot for its first (first-boot-complete.target inactive): it applied no presets, so nothing Ignition or sovereign enables by preset was enabled")
	}
	if !strings.HasPrefix(rep.Podman, "podman version 5.") {
		t.Errorf("guest runs %q, want Podman 5", rep.Podman)
	}
	if rep.GatewayUp == 0 {
		t.Fatal("the gateway never answered /health")
	}
	if sc.readyAfter != "never" && rep.SystemState != "running" {
		// The gateway no longer waits for the engine, and boot finishes
		// once the engine is up.
		t.Errorf("systemctl is-system-running says %q once the engine was up, want running: boot did not finish", rep.SystemState)
	}
	t.Logf("where the boot's time went (systemd-analyze blame):\n%s\ncritical chain to the gateway:\n%s", rep.Blame, rep.GatewayChain)
	t.Logf("gateway up at %.1fs after boot; engine released at %.1fs, healthy at %.1fs, its unit active at %.1fs", rep.GatewayUp, rep.Released, rep.EngineHealthy, rep.EngineActive)

	// While the engine loads, members reach the gateway and get a JSON 503.
	if rep.Loading == nil {
		t.Error("the probe never saw the gateway up while the engine was loading: the gateway waits for the engine")
	} else {
		checkLoading(t, "while loading", rep.Loading)
		checkFailed(t, "while loading", rep.Loading.Failed, true)
		// Notify=healthy: systemd does not call the engine started
		// while it loads.
		for _, u := range rep.Loading.Units {
			if u.Name == cfg.Engine && u.ActiveState != "activating" {
				t.Errorf("while loading: %s is %s/%s, want activating until its health check passes", u.Name, u.ActiveState, u.SubState)
			}
		}
	}
	final := rep.Final
	if final == nil {
		t.Fatal("no final snapshot")
	}
	for _, u := range final.Units {
		checkUnit(t, sc, cfg, u)
	}
	checkEnabled(t, cfg, final.Units)
	if sc.readyAfter == "never" {
		// The gateway keeps serving and says the model is loading.
		checkLoading(t, "engine never healthy", final)
		checkFailed(t, "engine never healthy", final.Failed, true)
		return
	}
	checkFailed(t, "once started", final.Failed, false)
	checkServing(t, final)
	checkReadiness(t, d.health, rep)
}

// checkUnit: every appliance unit is active, or a oneshot that ran and
// exited cleanly, or one a timer starts later; the engine may still be
// starting when it never becomes healthy.
func checkUnit(t *testing.T, sc scenario, cfg *report.Config, u report.Unit) {
	t.Helper()
	switch {
	case u.LoadState == "not-found":
		// A preset names it, but the guest's Debian does not ship it
		// (ModemManager for a mobile uplink): nothing to start.
		t.Logf("%s: not in the guest, not checked", u.Name)
	case u.ActiveState == "active":
	case u.Type == "oneshot" && u.ActiveState == "inactive" && u.Result == "success" && u.Started:
	case u.ActiveState == "inactive" && !u.Started && u.TriggeredBy != "":
		// Started by its timer or path later (the daily verify); the
		// trigger is checked as a unit of its own.
	case sc.readyAfter == "never" && u.Name == cfg.Engine && u.ActiveState == "activating":
	default:
		t.Errorf("%s is %s/%s (started this boot: %v, result %s, status %s, is-enabled: %s), want active or exited cleanly",
			u.Name, u.ActiveState, u.SubState, u.Started, u.Result, u.ExecMainStatus, u.Enabled)
	}
}

// checkEnabled: each unit the appliance enables by preset is enabled in
// the guest, as systemd's first boot leaves it.
func checkEnabled(t *testing.T, cfg *report.Config, units []report.Unit) {
	t.Helper()
	state := map[string]report.Unit{}
	for _, u := range units {
		state[u.Name] = u
	}
	for _, name := range cfg.Enabled {
		u, ok := state[name]
		switch {
		case !ok:
			t.Errorf("the probe did not report %s, which a preset enables", name)
		case u.LoadState == "not-found":
		case u.Enabled != "enabled":
			t.Errorf("%s is %q after the first boot, want enabled: a preset enables it", name, u.Enabled)
		}
	}
}

// checkFailed: nothing in `systemctl --failed`, except (when allowed) the
// start-up health checks of an engine still loading.
func checkFailed(t *testing.T, when string, failed []string, startupChecksAllowed bool) {
	t.Helper()
	for _, f := range failed {
		if startupChecksAllowed && StartupCheckUnit.MatchString(f) {
			continue
		}
		t.Errorf("%s: %s is in systemctl --failed", when, f)
	}
}

func request(t *testing.T, s *report.Snapshot, name string) report.Response {
	t.Helper()
	for _, r := range s.Requests {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("the probe made no request %q", name)
	return report.Response{}
}

// wantJSON checks a response's status and that it is a JSON error body.
func wantJSON(t *testing.T, when string, r report.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s: %s: %s answered %d (%s), want %d: %s", when, r.Name, r.URL, r.Status, r.Err, status, r.Body)
		return
	}
	if !strings.HasPrefix(r.ContentType, "application/json") || !json.Valid([]byte(r.Body)) {
		t.Errorf("%s: %s: want a JSON body, got %q: %s", when, r.Name, r.ContentType, r.Body)
	}
}

// checkLoading: the gateway is up, refuses strangers, and tells members the
// model is loading with a JSON 503 and Retry-After.
func checkLoading(t *testing.T, when string, s *report.Snapshot) {
	t.Helper()
	for _, name := range []string{report.HealthHTTP, report.HealthHTTPS} {
		if r := request(t, s, name); r.Status != 200 {
			t.Errorf("%s: %s answered %d (%s)", when, name, r.Status, r.Err)
		}
	}
	wantJSON(t, when, request(t, s, report.NoKey), 401)
	loading := request(t, s, report.MemberKey)
	wantJSON(t, when, loading, 503)
	if loading.RetryAfter == "" {
		t.Errorf("%s: the 503 has no Retry-After", when)
	}
	if !bytes.Contains(bytes.ToLower([]byte(loading.Body)), []byte("loading")) {
		t.Errorf("%s: the 503 does not say the model is loading: %s", when, loading.Body)
	}
}

// checkServing: once the engine is up, members are served and strangers not.
func checkServing(t *testing.T, s *report.Snapshot) {
	t.Helper()
	for _, name := range []string{report.HealthHTTP, report.HealthHTTPS, report.MemberKey, report.MemberChat} {
		if r := request(t, s, name); r.Status != 200 {
			t.Errorf("served: %s answered %d (%s): %s", name, r.Status, r.Err, r.Body)
		}
	}
	wantJSON(t, "served", request(t, s, report.NoKey), 401)
	wantJSON(t, "served", request(t, s, report.WrongKey), 401)
	if r := request(t, s, report.SignInRedirect); r.Status != 302 || !strings.Contains(r.Location, "/oauth2/start") {
		t.Errorf("served: a browser without a session got %d to %q, want 302 to the sign-in", r.Status, r.Location)
	}
}

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/units/output"
)

// resilienceCase builds testdata/blueprints/resilience: the wan and ups
// blocks with timings of seconds, which the UPS and WAN tests run for real.
func resilienceCase(vars ...lang.VarSetting) blueprintCase {
	return blueprintCase{
		name: "resilience", path: "testdata/blueprints/resilience", vars: vars,
		env: []string{"SOVEREIGN_TEST_UPS_PASSWORD=lab-ups-password-0123"}, wantUnits: 7,
	}
}

// needRoot ends a test that needs root (network namespaces, NUT dropping
// privileges): a skip on a developer's machine, a failure under CI=true, as
// for a missing peer tool.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		missingPeer(t, "this test needs root")
	}
}

// needFile is needRoot for an executable at a fixed path (NUT's daemons
// live in /lib/nut, outside $PATH).
func needFile(t *testing.T, path string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o111 == 0 {
		missingPeer(t, path+" is not installed (apt-get install nut-server nut-client iproute2 iputils-ping)")
	}
	return path
}

func needCommand(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingPeer(t, name+" is not installed (apt-get install nut-server nut-client iproute2 iputils-ping)")
	}
	return p
}

func missingPeer(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: peer checks never skip)", why)
	}
	t.Skip(why)
}

// renderedFile reads one rendered file of a build.
func renderedFile(t *testing.T, out, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, output.RootfsDir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceLine swaps the one line matching pattern for repl, and fails the
// test when there is none: a test that stopped rewriting what sovereign
// renders would test something else than the appliance runs.
func replaceLine(t *testing.T, text, pattern, repl string) string {
	t.Helper()
	re := regexp.MustCompile("(?m)^" + pattern + "$")
	if n := len(re.FindAllStringIndex(text, -1)); n != 1 {
		t.Fatalf("want exactly one line matching %q in:\n%s", pattern, text)
	}
	return re.ReplaceAllLiteralString(text, repl)
}

func writeFile(t *testing.T, path, contents string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(contents), mode); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 50 ms until it holds or limit passes, and
// returns when it first held. It never sleeps longer than limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func since(t0, t time.Time) string { return t.Sub(t0).Round(100 * time.Millisecond).String() }

// TestUPSBudgetCoversEngineStop keeps the UPS budget honest: it counts
// ups.EngineStopTimeout for an engine to stop, so no engine unit may take
// longer (TimeoutStopSec) than that, whichever module renders it.
func TestUPSBudgetCoversEngineStop(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			_, res := build(t, c)
			services := map[string]bool{}
			for _, e := range res.Blueprint.Engines {
				services[engines.Service(e)] = true
			}
			n := 0
			for _, u := range res.Tree.Units {
				if !services[u.ServiceName()] {
					continue
				}
				n++
				stops := u.Get("Service", "TimeoutStopSec")
				if len(stops) != 1 {
					t.Errorf("%s has %d TimeoutStopSec settings; the UPS budget needs exactly one", u.Name, len(stops))
					continue
				}
				d, err := time.ParseDuration(stops[0] + "s")
				if err != nil || d > ups.EngineStopTimeout {
					t.Errorf("%s: TimeoutStopSec=%s, more than the %s the UPS budget allows an engine to stop", u.Name, stops[0], ups.EngineStopTimeout)
				}
			}
			if n != len(services) {
				t.Fatalf("found %d of the %d engine units the UPS hook stops", n, len(services))
			}
		})
	}
}

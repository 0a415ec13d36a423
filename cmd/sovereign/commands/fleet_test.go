package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const referenceFleet = "../../../blueprints/fleet-two-gb300.hcl"

// TestPlanFleet: a fleet's plan is each host's, and the sums of its
// sessions and power match the hosts' figures.
func TestPlanFleet(t *testing.T) {
	r := runCLI(t, "plan", "--json", referenceFleet)
	if r.code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", r.code, r.stderr)
	}
	var got fleetPlan
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("plan --json is not a fleet plan: %v\n%s", err, r.stdout)
	}
	if len(got.Hosts) != 2 || got.Hosts[0].Host != "annex" || got.Hosts[1].Host != "station" {
		t.Fatalf("hosts %+v, want annex and station", got.Hosts)
	}
	sessions, watts := 0, 0.0
	for _, h := range got.Hosts {
		if len(h.Engines) != 1 {
			t.Fatalf("host %s has %d engine plans, want 1", h.Host, len(h.Engines))
		}
		// The collective module's max_model_len (the JSON does not carry it).
		n, _ := h.Engines[0].Plan.Sessions.At(32768)
		sessions += n
		watts += h.Engines[0].Plan.Power.Watts
	}
	if sessions == 0 || got.Total.Sessions["coop"] != sessions || got.Total.Watts != watts || watts != 3200 {
		t.Errorf("total %+v; the hosts hold %d sessions and draw %.0f W", got.Total, sessions, watts)
	}
	text := runCLI(t, "plan", referenceFleet)
	if text.code != 0 || !strings.Contains(text.stdout, `Host "annex"`) || !strings.Contains(text.stdout, `Fleet "coop", 2 hosts together:`) {
		t.Errorf("plan: exit %d\n%s", text.code, text.stdout)
	}
}

// TestBuildFleet: build writes out/fleet.json and one complete output per
// host, and prints no secret.
func TestBuildFleet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r := runCLI(t, "build", referenceFleet, "-o", out)
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	for _, f := range []string{"fleet.json", "station/ignition.json", "station/manifest.json", "annex/ignition.json", "annex/manifest.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}
	key, err := os.ReadFile("../../../blueprints/link/annex.key")
	if err != nil {
		t.Fatal(err)
	}
	if k := strings.TrimSpace(string(key)); strings.Contains(r.stdout+r.stderr, k) {
		t.Error("build printed a host's private key")
	}
	summary, _ := os.ReadFile(filepath.Join(out, "fleet.json"))
	if strings.Contains(string(summary), strings.TrimSpace(string(key))) {
		t.Error("fleet.json holds a private key")
	}
	if r := runCLI(t, "validate", referenceFleet); r.code != 0 || !strings.Contains(r.stdout, `fleet "coop", 2 hosts`) {
		t.Errorf("validate of a fleet: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Commands that act on one host ask which host of a fleet, and name them.
	if r := runCLI(t, "diff", filepath.Join(out, "annex"), referenceFleet); r.code != ExitUsage || !strings.Contains(r.stderr, "--fleet-host (one of annex, station)") {
		t.Errorf("diff with a fleet blueprint and no --fleet-host: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "diff", filepath.Join(out, "annex"), referenceFleet, "--fleet-host", "nope"); r.code != ExitUsage || !strings.Contains(r.stderr, "no such host") {
		t.Errorf("diff --fleet-host nope: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "diff", filepath.Join(out, "annex"), "../../../blueprints/dgx-station-gb300.hcl", "--fleet-host", "annex"); r.code != ExitUsage || !strings.Contains(r.stderr, "not a fleet") {
		t.Errorf("diff --fleet-host with a single host's blueprint: exit %d\n%s", r.code, r.stderr)
	}
}

// TestFleetDiffPerHost: diff builds one host of a fleet blueprint
// (--fleet-host) and compares it with that host's output; a member added
// to the shared members changes the gateway host only.
func TestFleetDiffPerHost(t *testing.T) {
	f := newMemberFixture(t)
	f.blueprint = filepath.Join(f.dir, "blueprints", "fleet-two-gb300.hcl")
	out := filepath.Join(f.dir, "out")
	if r := runCLI(t, "build", f.blueprint, "-o", out); r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	diff := func(host string) string {
		t.Helper()
		r := runCLI(t, "diff", filepath.Join(out, host), f.blueprint, "--fleet-host", host)
		if r.code != 0 {
			t.Fatalf("diff out/%s --fleet-host %s: exit %d\n%s", host, host, r.code, r.stderr)
		}
		return r.stdout
	}
	for _, h := range []string{"station", "annex"} {
		if got := diff(h); !strings.Contains(got, "No changes.") {
			t.Errorf("host %s against its own build:\n%s", h, got)
		}
	}
	f.run(t, 0, "member", "add", "dave", "--email", "dave@example.org")
	if got := diff("station"); !strings.Contains(got, "apikeys.map") || !strings.Contains(got, "gateway-nginx") {
		t.Errorf("station after a member was added should show the key map and nginx's restart:\n%s", got)
	}
	if got := diff("annex"); !strings.Contains(got, "No changes.") {
		t.Errorf("annex runs no gateway, yet a new member changes it:\n%s", got)
	}
}

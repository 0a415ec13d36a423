package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
)

// These run sovereign apply against a real OpenSSH server on loopback and
// a host root written by Ignition's own files stage from the reference
// appliance, with the stand-in systemctl and podman of verify_test.go:
// systemd cannot run here, so the stand-in records what apply asks of it
// and answers is-active from files the test writes.

func (h *healthyHost) apply(t *testing.T, ctx context.Context, stdin string, extra ...string) cli {
	t.Helper()
	args := append([]string{"apply", h.blueprint, "--host", h.sshd.Target, "--ssh", strings.Join(h.sshd.SSH, " "),
		"--host-root", h.root, "--drain-grace", "0s", "--health-timeout", "20s"}, extra...)
	var out, errb bytes.Buffer
	code := MainWithInput(ctx, args, strings.NewReader(stdin), &out, &errb, afero.NewOsFs(), nil)
	return cli{code, out.String(), errb.String()}
}

// calls is what the stand-in systemctl was asked since the last call.
func (h *healthyHost) calls(t *testing.T) string {
	t.Helper()
	p := filepath.Join(h.state, "calls")
	b, _ := os.ReadFile(p)
	_ = os.Remove(p)
	return string(b)
}

func (h *healthyHost) hostFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.root, p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *healthyHost) edit(t *testing.T, rel, old, new string) {
	t.Helper()
	p := filepath.Join(filepath.Dir(h.blueprint), rel)
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("%s no longer holds %q", rel, old)
	}
	if err := os.WriteFile(p, bytes.Replace(src, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *healthyHost) addMember(t *testing.T) {
	t.Helper()
	if r := runCLI(t, "member", "add", "dave", "--email", "dave@example.org", "-b", h.blueprint); r.code != 0 {
		t.Fatalf("member add: %s", r.stderr)
	}
}

const keyMapPath = "/etc/sovereign/gateway/nginx/apikeys.map"

func TestApplyMemberChangeRestartsOnlyTheGateway(t *testing.T) {
	h := newHealthyHost(t)
	ctx := context.Background()
	if r := h.apply(t, ctx, "", "--yes"); r.code != 0 || !strings.Contains(r.stdout, "nothing to apply") {
		t.Fatalf("a host that runs the build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	h.calls(t)

	h.addMember(t)
	r := h.apply(t, ctx, "", "--yes")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "  write   "+keyMapPath) || !strings.Contains(r.stdout, "Applied:") || strings.Contains(r.stdout, "drain") {
		t.Fatalf("apply's report:\n%s", r.stdout)
	}
	// nginx reads the key map, oauth2-proxy the allowed emails: the
	// gateway's two services restart, the engine does not.
	calls := h.calls(t)
	if !strings.Contains(calls, "restart --no-block gateway-nginx.service") || !strings.Contains(calls, "restart --no-block gateway-oauth2-proxy.service") ||
		strings.Contains(calls, "restart --no-block vllm-main") {
		t.Fatalf("a member change restarts the gateway and nothing else; systemctl was asked:\n%s", calls)
	}
	if info, err := os.Stat(filepath.Join(h.root, keyMapPath)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key map on the host: %v, %v; want mode 0600", err, info)
	}
	if !bytes.Contains(h.hostFile(t, keyMapPath), []byte("dave;")) {
		t.Fatal("the host's key map does not let dave in")
	}
	if strings.Contains(r.stdout+r.stderr, "sk-") {
		t.Fatalf("apply printed a key:\n%s%s", r.stdout, r.stderr)
	}
	if r := h.verify(t); r.code != 0 {
		t.Fatalf("after apply the host should match the build:\n%s", r.stdout)
	}
}

func TestApplyEngineChangeDrainsAndRestartsTheEngine(t *testing.T) {
	h := newHealthyHost(t)
	h.edit(t, "collective/service.hcl", "  tool_call_parser = \"hermes\"\n", "")
	r := h.apply(t, context.Background(), "", "--yes")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "  write   /etc/containers/systemd/vllm-main.container") ||
		!strings.Contains(r.stdout, "  restart vllm-main.service (vllm-main.container contents differ)") ||
		!strings.Contains(r.stdout, "drain   the gateway") || !strings.Contains(r.stdout, "host: draining the gateway") {
		t.Fatalf("apply's report:\n%s", r.stdout)
	}
	if !strings.Contains(h.calls(t), "restart --no-block vllm-main.service") {
		t.Fatal("the engine was not restarted")
	}
	if _, err := os.Stat(filepath.Join(h.root, "run/sovereign/drain")); !os.IsNotExist(err) {
		t.Fatalf("the drain flag stays after the apply: %v", err)
	}
}

func TestApplyRollsBackWhenNotHealthy(t *testing.T) {
	h := newHealthyHost(t)
	before := h.hostFile(t, keyMapPath)
	h.addMember(t)
	writeTestFile(t, filepath.Join(h.state, "fail", "gateway-nginx.service"), "", 0o644)
	r := h.apply(t, context.Background(), "", "--yes")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "back on its previous files") || !strings.Contains(r.stdout, "host: not healthy: gateway-nginx.service") {
		t.Fatalf("an unhealthy gateway: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := h.hostFile(t, keyMapPath); !bytes.Equal(got, before) {
		t.Fatal("rollback did not restore the previous key map byte for byte")
	}
	if calls := h.calls(t); strings.Count(calls, "restart --no-block gateway-nginx.service") != 2 {
		t.Fatalf("the gateway restarts on the new files, then on the old; systemctl was asked:\n%s", calls)
	}
	if _, err := os.Stat(filepath.Join(h.root, "var/lib/sovereign/apply/journal")); !os.IsNotExist(err) {
		t.Fatal("a finished rollback leaves no journal")
	}
}

// A connection cut while the host waits for health leaves the host to
// finish by itself: on the new build when healthy, on the old when not —
// never a mix.
func TestApplyInterruptedEndsOldOrNew(t *testing.T) {
	for _, healthy := range []bool{true, false} {
		h := newHealthyHost(t)
		before := h.hostFile(t, keyMapPath)
		h.addMember(t)
		writeTestFile(t, filepath.Join(h.state, "slow"), "", 0o644)
		if !healthy {
			writeTestFile(t, filepath.Join(h.state, "fail", "gateway-nginx.service"), "", 0o644)
		}
		// Cut the connection once the host has switched the files and
		// waits for the gateway to become healthy.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan cli)
		go func() { done <- h.apply(t, ctx, "", "--yes") }()
		logs := filepath.Join(h.root, "var/lib/sovereign/apply/*.log")
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			matches, _ := filepath.Glob(logs)
			if len(matches) == 1 {
				if b, _ := os.ReadFile(matches[0]); bytes.Contains(b, []byte("restarting gateway-nginx.service")) {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the apply never reached the restarts")
			}
		}
		cancel()
		r := <-done
		if r.code != ExitExternal || !strings.Contains(r.stderr, "run sovereign verify") {
			t.Fatalf("a dropped connection: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		os.Remove(filepath.Join(h.state, "slow"))
		journal := filepath.Join(h.root, "var/lib/sovereign/apply/journal")
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if _, err := os.Stat(journal); os.IsNotExist(err) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the host did not finish the apply by itself")
			}
		}
		got := h.hostFile(t, keyMapPath)
		if healthy {
			if r := h.verify(t); r.code != 0 {
				t.Fatalf("a healthy apply finished without us should leave the new build:\n%s", r.stdout)
			}
		} else if !bytes.Equal(got, before) {
			t.Fatal("an unhealthy apply finished without us should leave the old files")
		}
	}
}

func TestApplyRefusesWhatOnlyAReprovisionDoes(t *testing.T) {
	h := newHealthyHost(t)
	h.edit(t, "dgx-station-gb300.hcl", "  admin \"ops\" {", "  admin \"ops2\" {\n    ssh_authorized_keys = [file(var.admin_ssh_key_file)]\n  }\n\n  admin \"ops\" {")
	r := h.apply(t, context.Background(), "", "--yes")
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "needs a reprovision") || !strings.Contains(r.stderr, "ops2: no such account") {
		t.Fatalf("a new admin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if calls := h.calls(t); strings.Contains(calls, "restart") {
		t.Fatalf("a refused apply changed something:\n%s", calls)
	}
}

func TestApplyAsksFirst(t *testing.T) {
	h := newHealthyHost(t)
	before := h.hostFile(t, keyMapPath)
	h.addMember(t)
	if r := h.apply(t, context.Background(), ""); r.code != ExitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("no answer: exit %d\n%s", r.code, r.stderr)
	}
	if r := h.apply(t, context.Background(), "no\n"); r.code != ExitInvalid || !strings.Contains(r.stderr, "apply cancelled") {
		t.Fatalf("'no': exit %d\n%s", r.code, r.stderr)
	}
	if !bytes.Equal(h.hostFile(t, keyMapPath), before) {
		t.Fatal("a cancelled apply changed the host")
	}
	if r := h.apply(t, context.Background(), "yes\n"); r.code != 0 {
		t.Fatalf("'yes': exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// In image mode apply hands the pushed digest to the host's own
// sovereign-update (a stand-in here that records what it was given; the
// real script and its health gate have their own tests in units/update).
func TestApplyImageModeRunsTheHostsUpdate(t *testing.T) {
	h := newHealthyHost(t)
	got := filepath.Join(h.state, "update-args")
	writeTestFile(t, filepath.Join(h.root, "usr/libexec/sovereign/update"), "#!/bin/sh\necho \"$@\" >"+got+"\necho staged\n", 0o755)
	ref := "registry.example.org/coop/appliance@sha256:" + strings.Repeat("ab", 32)
	r := h.apply(t, context.Background(), "", "--yes", "--image", ref)
	if r.code != 0 || !strings.Contains(r.stdout, "host: staged") || !strings.Contains(r.stdout, "reboots into "+ref) {
		t.Fatalf("apply --image: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(got); err != nil || string(b) != ref+"\n" {
		t.Fatalf("sovereign-update was given %q (%v), want %q", b, err, ref)
	}
	if r := h.apply(t, context.Background(), "", "--yes", "--image", "registry.example.org/coop/appliance:v2"); r.code != ExitUsage || !strings.Contains(r.stderr, "REPOSITORY@sha256:DIGEST") {
		t.Fatalf("a tag: exit %d\n%s", r.code, r.stderr)
	}
	writeTestFile(t, filepath.Join(h.root, "usr/libexec/sovereign/update"), "#!/bin/sh\necho 'no such image' >&2\nexit 2\n", 0o755)
	if r := h.apply(t, context.Background(), "", "--yes", "--image", ref); r.code != ExitInvalid || !strings.Contains(r.stderr, "no such image") {
		t.Fatalf("a refused switch: exit %d\n%s", r.code, r.stderr)
	}
}

// TestApplyFleetHost: verify and apply act on one host of a fleet
// (--fleet-host): the gateway host provisioned from the fleet's build
// matches its own host's build and not the other's; a member added to the
// shared members is applied to it like on a single host.
func TestApplyFleetHost(t *testing.T) {
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "blueprints"), os.DirFS("../../../blueprints")); err != nil {
		t.Fatal(err)
	}
	bp := filepath.Join(work, "blueprints", "fleet-two-gb300.hcl")
	out := filepath.Join(work, "out")
	if r := runCLI(t, "build", bp, "-o", out); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	h := provisionHealthy(t, work, bp, filepath.Join(out, "station", "ignition.json"))
	ctx := context.Background()
	if r := h.verify(t, "--fleet-host", "station"); r.code != 0 {
		t.Fatalf("station against its own build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := h.verify(t, "--fleet-host", "annex"); r.code != 1 || !strings.Contains(r.stdout, "link-drain") {
		t.Fatalf("station against annex's build: exit %d, want 1 with annex's drain script missing\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := h.apply(t, ctx, "", "--yes"); r.code != ExitUsage || !strings.Contains(r.stderr, "--fleet-host") {
		t.Fatalf("apply of a fleet without --fleet-host: exit %d\n%s", r.code, r.stderr)
	}
	if r := h.apply(t, ctx, "", "--yes", "--fleet-host", "station"); r.code != 0 || !strings.Contains(r.stdout, "nothing to apply") {
		t.Fatalf("station runs the build: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	h.calls(t)
	if r := runCLI(t, "member", "add", "dave", "--email", "dave@example.org", "-b", bp); r.code != 0 {
		t.Fatalf("member add on the fleet: %s", r.stderr)
	}
	r := h.apply(t, ctx, "", "--yes", "--fleet-host", "station")
	if r.code != 0 || !strings.Contains(r.stdout, "  write   "+keyMapPath) {
		t.Fatalf("apply --fleet-host station: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if calls := h.calls(t); !strings.Contains(calls, "restart --no-block gateway-nginx.service") || strings.Contains(calls, "restart --no-block vllm-main") {
		t.Fatalf("a member change restarts the gateway only; systemctl was asked:\n%s", calls)
	}
	if r := h.verify(t, "--fleet-host", "station"); r.code != 0 {
		t.Fatalf("after apply station should match its build:\n%s", r.stdout)
	}
}

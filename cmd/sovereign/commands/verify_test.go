package commands

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/tests/peers"
)

// Stand-ins for the host's systemctl and podman: they answer from files
// under $STANDIN_STATE, which the test writes, because systemd and the
// engines' containers cannot run here. Everything else is real: OpenSSH on
// loopback, the host's files as Ignition's own files stage wrote them, and
// the probe's sh, find, stat and sha256sum.
const standinSystemctl = `#!/bin/sh
# systemctl show --property=... -- UNIT | is-active UNIT | restart [--no-block] UNIT | stop UNIT | daemon-reload
# Every call is logged to $STANDIN_STATE/calls. A unit named in
# $STANDIN_STATE/fail/ never comes back after a restart; while
# $STANDIN_STATE/slow exists, is-active says "activating" until that file goes.
echo "$*" >>"$STANDIN_STATE/calls"
for last; do :; done
f="$STANDIN_STATE/units/$last"
case $1 in
show)
	if [ -f "$f" ]; then cat "$f"; else printf 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n'; fi
	;;
is-failed)
	state=$(sed -n 's/^ActiveState=//p' "$f" 2>/dev/null)
	[ -e "$STANDIN_STATE/fail/$last" ] || [ "$state" = failed ]
	;;
is-active)
	if [ -e "$STANDIN_STATE/slow" ]; then echo activating; exit 3; fi
	if [ -e "$STANDIN_STATE/fail/$last" ]; then echo failed; exit 3; fi
	state=$(sed -n 's/^ActiveState=//p' "$f" 2>/dev/null)
	echo "${state:-inactive}"
	[ "$state" = active ]
	;;
esac
`

const standinPodman = `#!/bin/sh
# podman container inspect --format '{{.ImageName}}' -- NAME
for last; do :; done
f="$STANDIN_STATE/containers/$last"
[ -f "$f" ] || { echo "Error: no such container $last" >&2; exit 125; }
cat "$f"
`

// healthyHost is a host provisioned from the reference appliance's
// ignition.json whose units all run and whose containers run the pinned
// images.
type healthyHost struct {
	blueprint, root, state, bin string
	sshd                        *peers.SSHD
}

func newHealthyHost(t *testing.T) *healthyHost {
	t.Helper()
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "blueprints"), os.DirFS("../../../blueprints")); err != nil {
		t.Fatal(err)
	}
	bp := filepath.Join(work, "blueprints", "dgx-station-gb300.hcl")
	out := filepath.Join(work, "out")
	if r := runCLI(t, "build", bp, "-o", out); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	return provisionHealthy(t, work, bp, filepath.Join(out, "ignition.json"))
}

// provisionHealthy stages ignition.json as a host's root whose units all
// run and whose containers run the pinned images, reachable over sshd;
// blueprint is what built it.
func provisionHealthy(t *testing.T, work, bp, ignition string) *healthyHost {
	t.Helper()
	h := &healthyHost{blueprint: bp, root: peers.ApplyIgnition(t, ignition), state: filepath.Join(work, "state")}
	bin := filepath.Join(work, "bin")
	h.bin = bin
	for name, script := range map[string]string{"systemctl": standinSystemctl, "podman": standinPodman} {
		writeTestFile(t, filepath.Join(bin, name), script, 0o755)
	}
	units, _ := filepath.Glob(filepath.Join(h.root, "etc", "systemd", "system", "*.*"))
	quadlets, _ := filepath.Glob(filepath.Join(h.root, "etc", "containers", "systemd", "*.container"))
	for _, q := range quadlets {
		units = append(units, strings.TrimSuffix(q, ".container")+".service")
		src, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		image := regexp.MustCompile(`(?m)^Image=(.*)$`).FindSubmatch(src)
		name := regexp.MustCompile(`(?m)^ContainerName=(.*)$`).FindSubmatch(src)
		if image == nil || name == nil {
			t.Fatalf("%s has no Image= or ContainerName=", q)
		}
		h.setContainer(t, string(name[1]), string(image[1]))
	}
	for _, u := range units {
		if fi, err := os.Stat(u); err == nil && fi.IsDir() {
			continue
		}
		h.setUnit(t, filepath.Base(u), "loaded", "active", "running", "enabled")
	}
	h.sshd = peers.StartSSHD(t, bin, map[string]string{"STANDIN_STATE": h.state})
	return h
}

func (h *healthyHost) setUnit(t *testing.T, unit, load, active, sub, enabled string) {
	writeTestFile(t, filepath.Join(h.state, "units", unit),
		"LoadState="+load+"\nActiveState="+active+"\nSubState="+sub+"\nUnitFileState="+enabled+"\n", 0o644)
}

func (h *healthyHost) setContainer(t *testing.T, name, image string) {
	writeTestFile(t, filepath.Join(h.state, "containers", name), image+"\n", 0o644)
}

func (h *healthyHost) verify(t *testing.T, extra ...string) cli {
	t.Helper()
	args := append([]string{"verify", h.blueprint, "--host", h.sshd.Target, "--ssh", strings.Join(h.sshd.SSH, " "), "--host-root", h.root}, extra...)
	return runCLI(t, args...)
}

func writeTestFile(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyOverSSH(t *testing.T) {
	h := newHealthyHost(t)

	r := h.verify(t)
	if r.code != 0 || !strings.Contains(r.stdout, "matches the build") {
		t.Fatalf("a freshly provisioned host should match: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Drift of every kind at once.
	nginxConf := filepath.Join(h.root, "etc/sovereign/gateway/nginx/nginx.conf")
	appendFile(t, nginxConf, "# edited by hand\n")
	keyMap := filepath.Join(h.root, "etc/sovereign/gateway/nginx/apikeys.map")
	secret, err := os.ReadFile(keyMap)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, keyMap, string(secret)+"\"~^Bearer sk-intruder$\" mallory;\n", 0o644)
	quadlet := filepath.Join(h.root, "etc/containers/systemd/vllm-main.container")
	if err := os.Remove(quadlet); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(h.root, "etc/sovereign/leftover.conf"), "old\n", 0o644)
	h.setUnit(t, "sovereign-nvidia-cdi.service", "loaded", "failed", "failed", "enabled")
	h.setUnit(t, "gateway-nginx.service", "loaded", "inactive", "dead", "generated")
	h.setContainer(t, "sovereign-oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy:latest")

	r = h.verify(t)
	if r.code != 1 {
		t.Fatalf("a drifted host: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"file      /etc/sovereign/gateway/nginx/nginx.conf: contents differ (want sha256:",
		"file      /etc/sovereign/gateway/nginx/apikeys.map: contents differ (a secret: not shown)",
		"file      /etc/sovereign/gateway/nginx/apikeys.map: mode differs (want 0600, host has 0644)",
		"file      /etc/containers/systemd/vllm-main.container: missing",
		"file      /etc/sovereign/leftover.conf: not made by this build",
		"unit      sovereign-nvidia-cdi.service: failed",
		"unit      gateway-nginx.service: not running (want active, host has inactive/dead)",
		"container sovereign-oauth2-proxy: runs another image (want quay.io/oauth2-proxy/oauth2-proxy@sha256:",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "sk-") {
		t.Fatalf("verify printed a key:\n%s%s", r.stdout, r.stderr)
	}

	r = h.verify(t, "--json")
	var report struct {
		Matches bool `json:"matches"`
		Drift   []struct {
			Kind, What, Problem string
		} `json:"drift"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != 1 {
		t.Fatalf("--json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	if report.Matches || len(report.Drift) != 8 {
		t.Fatalf("--json reports %d drift(s), want 8: %+v", len(report.Drift), report.Drift)
	}
}

func TestVerifyUnreachableHostIsExternal(t *testing.T) {
	bp := filepath.Join("..", "..", "..", "blueprints", "dgx-station-gb300.hcl")
	r := runCLI(t, "verify", bp, "--host", "root@127.0.0.1", "--ssh", "ssh -p 1 -o ConnectTimeout=5 -F /dev/null")
	if r.code != ExitExternal || !strings.Contains(r.stderr, "127.0.0.1") {
		t.Fatalf("unreachable host: exit %d, want 3\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, "verify", bp); r.code != ExitUsage || !strings.Contains(r.stderr, "--host") {
		t.Fatalf("no --host: exit %d\n%s", r.code, r.stderr)
	}
}

func appendFile(t *testing.T, p, data string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// The host's own daily check (sovereign-verify.timer) runs the script the
// build installs against the manifest the build installs, on the files
// Ignition wrote.
func TestHostVerifyScript(t *testing.T) {
	h := newHealthyHost(t)
	run := func() (string, int) {
		cmd := exec.Command("sh", filepath.Join(h.root, "usr/local/libexec/sovereign/verify"))
		cmd.Env = append(os.Environ(), "SOVEREIGN_ROOT="+h.root, "STANDIN_STATE="+h.state, "PATH="+h.bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run(); code != 0 || !strings.Contains(out, "the host matches its build") {
		t.Fatalf("a freshly provisioned host: exit %d\n%s", code, out)
	}
	appendFile(t, filepath.Join(h.root, "etc/sovereign/gateway/nginx/nginx.conf"), "# edited by hand\n")
	if err := os.Chmod(filepath.Join(h.root, "etc/sovereign/gateway/nginx/apikeys.map"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(h.root, "etc/containers/systemd/vllm-main.container")); err != nil {
		t.Fatal(err)
	}
	h.setUnit(t, "sovereign-nvidia-cdi.service", "loaded", "failed", "failed", "enabled")
	out, code := run()
	for _, want := range []string{
		"drift: /etc/sovereign/gateway/nginx/nginx.conf has other contents than the build",
		"drift: /etc/sovereign/gateway/nginx/apikeys.map has mode 644, the build 0600",
		"drift: /etc/containers/systemd/vllm-main.container is missing",
		"drift: unit sovereign-nvidia-cdi.service has failed",
		"4 difference(s) from the build",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the on-host check lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "sk-") {
		t.Fatalf("drift: exit %d, want 1 (and no secret shown)\n%s", code, out)
	}
}

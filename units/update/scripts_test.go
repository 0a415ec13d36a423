package update

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The scripts run under the shells a Fedora CoreOS host has as /bin/sh
// (bash) and the strictest POSIX shell at hand (dash), with PATH holding
// only stubs: bootc, rpm-ostree, systemctl, skopeo, podman and sleep record
// their arguments and answer as the test says, so nothing real is switched,
// rolled back or rebooted. What the real bootc/rpm-ostree do with these
// arguments is not exercised here.

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

// stub is a fake command: it logs "NAME ARGS" to $CALLS, prints $STUB_<NAME>_OUT
// and exits with $STUB_<NAME>_EXIT. systemctl is-active answers 0 only from
// the $STUB_ACTIVE_AFTER-th call on.
const stub = `#!/bin/sh
n=$(basename "$0")
echo "$n $*" >>"$CALLS"
v=$(echo "$n" | tr a-z- A-Z_)
if [ "$n $1" = "systemctl is-active" ] && [ -n "${STUB_ACTIVE_AFTER:-}" ]; then
	echo x >>"$CALLS.active"
	[ "$(wc -l <"$CALLS.active")" -ge "$STUB_ACTIVE_AFTER" ] && exit 0
	exit 3
fi
if [ "$n $1" = "systemctl is-failed" ]; then exit "${STUB_FAILED:-1}"; fi
if [ "$n $1" = "systemctl show" ]; then
	echo x >>"$CALLS.show"
	i=$(wc -l <"$CALLS.show")
	echo "$STUB_SHOW_SEQ" | cut -d, -f"$i"
	exit 0
fi
if [ "$n" = date ]; then
	echo x >>"$CALLS.date"
	echo $(($(wc -l <"$CALLS.date") * 1000))
	exit 0
fi
eval "out=\${STUB_${v}_OUT:-}; code=\${STUB_${v}_EXIT:-0}"
[ -n "$out" ] && echo "$out"
exit "$code"
`

type run struct {
	code  int
	out   string
	calls []string
	state string
}

func shells(t *testing.T) []string {
	var out []string
	for _, sh := range []string{"bash", "dash"} {
		if p, err := exec.LookPath(sh); err == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Skip("no bash or dash")
	}
	return out
}

// runScript runs script with args under shell; stubs lists the fake
// commands to provide (bootc is left out to test the rpm-ostree path).
func runScript(t *testing.T, shell string, script []byte, stubs []string, env []string, setup func(state string), args ...string) run {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	os.MkdirAll(bin, 0o755)
	stubbed := map[string]bool{}
	for _, s := range stubs {
		stubbed[s] = true
	}
	for _, real := range []string{"cat", "mkdir", "mv", "rm", "date", "basename", "tr", "wc", "cut"} {
		if stubbed[real] {
			continue
		}
		p, err := exec.LookPath(real)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(bin, real)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stubs {
		if err := os.WriteFile(filepath.Join(bin, s), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(shell, filepath.Join(bin, "sh"))
	sp := filepath.Join(dir, "script")
	if err := os.WriteFile(sp, script, 0o755); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(state)
	}
	calls := filepath.Join(dir, "calls")
	cmd := exec.Command(shell, append([]string{sp}, args...)...)
	cmd.Env = append([]string{"PATH=" + bin, "CALLS=" + calls, "SOVEREIGN_UPDATE_STATE=" + state,
		"SOVEREIGN_UPDATE_CONF=" + filepath.Join(dir, "update.conf"), "SOVEREIGN_HEALTH_CONF=" + filepath.Join(dir, "gate.conf")}, env...)
	out, err := cmd.CombinedOutput()
	r := run{out: string(out), state: state}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(calls); err == nil {
		r.calls = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return r
}

func readState(t *testing.T, state, name string) string {
	b, err := os.ReadFile(filepath.Join(state, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func writeState(state, name, content string) {
	os.MkdirAll(filepath.Dir(filepath.Join(state, name)), 0o755)
	os.WriteFile(filepath.Join(state, name), []byte(content+"\n"), 0o644)
}

var allStubs = []string{"bootc", "rpm-ostree", "systemctl", "skopeo", "podman", "sleep"}
var noBootc = []string{"rpm-ostree", "systemctl", "skopeo", "podman", "sleep"}

func TestUpdateScript(t *testing.T) {
	target := "registry.example.org/coop/appliance@" + digestA
	follow := func(ref string) func(string) {
		return func(state string) {
			os.WriteFile(filepath.Join(filepath.Dir(state), "update.conf"), []byte("FOLLOW="+ref+"\n"), 0o644)
		}
	}
	cases := []struct {
		name      string
		stubs     []string
		env       []string
		setup     func(state string)
		args      []string
		wantCode  int
		wantCalls []string
		pending   string
		inOutput  string
	}{
		{name: "bootc switches and reboots", stubs: allStubs, args: []string{target},
			wantCalls: []string{"bootc switch --transport registry " + target, "systemctl reboot"}, pending: target},
		{name: "rpm-ostree when there is no bootc", stubs: noBootc, args: []string{target},
			wantCalls: []string{"rpm-ostree rebase ostree-unverified-registry:" + target, "systemctl reboot"}, pending: target},
		{name: "a tag is refused", stubs: allStubs, args: []string{"registry.example.org/coop/appliance:v2"},
			wantCode: 2, inOutput: "never a tag"},
		{name: "a short digest is refused", stubs: allStubs, args: []string{"registry.example.org/coop/appliance@sha256:abc"},
			wantCode: 2, inOutput: "64 lowercase hex"},
		{name: "an image that failed the gate is refused", stubs: allStubs, args: []string{target},
			setup: func(s string) {
				writeState(s, "failed/"+strings.TrimPrefix(digestA, "sha256:"), "vllm-main.service failed")
			},
			wantCode: 1, inOutput: "failed the health gate before (vllm-main.service failed)"},
		{name: "already current", stubs: allStubs, args: []string{target},
			setup: func(s string) { writeState(s, "current", target) }, inOutput: "already running"},
		{name: "a failed switch does not reboot", stubs: allStubs, args: []string{target}, env: []string{"STUB_BOOTC_EXIT=1"},
			wantCode: 3, wantCalls: []string{"bootc switch --transport registry " + target}, inOutput: "still on the current deployment"},
		{name: "follow resolves the tag to a digest", stubs: allStubs, args: []string{"--follow"},
			setup: follow("registry.example.org:5000/coop/appliance:stable"),
			env:   []string{"STUB_SKOPEO_OUT=" + digestB},
			wantCalls: []string{
				"skopeo inspect --no-tags --format {{.Digest}} docker://registry.example.org:5000/coop/appliance:stable",
				"bootc switch --transport registry registry.example.org:5000/coop/appliance@" + digestB,
				"systemctl reboot"},
			pending: "registry.example.org:5000/coop/appliance@" + digestB},
		{name: "follow with an unreachable registry", stubs: allStubs, args: []string{"--follow"},
			setup: follow("registry.example.org/coop/appliance:stable"), env: []string{"STUB_SKOPEO_EXIT=1"},
			wantCode: 3, wantCalls: []string{"skopeo inspect --no-tags --format {{.Digest}} docker://registry.example.org/coop/appliance:stable"}},
	}
	for _, sh := range shells(t) {
		for _, tc := range cases {
			t.Run(filepath.Base(sh)+"/"+tc.name, func(t *testing.T) {
				r := runScript(t, sh, updateScript, tc.stubs, tc.env, tc.setup, tc.args...)
				if r.code != tc.wantCode {
					t.Fatalf("exit %d, want %d; output:\n%s", r.code, tc.wantCode, r.out)
				}
				if diff := cmp.Diff(tc.wantCalls, r.calls); diff != "" {
					t.Errorf("commands run (-want +got):\n%s\noutput:\n%s", diff, r.out)
				}
				if got := readState(t, r.state, "pending"); got != tc.pending {
					t.Errorf("pending = %q, want %q", got, tc.pending)
				}
				if !strings.Contains(r.out, tc.inOutput) {
					t.Errorf("output lacks %q:\n%s", tc.inOutput, r.out)
				}
			})
		}
	}
}

func TestHealthGate(t *testing.T) {
	target := "registry.example.org/coop/appliance@" + digestA
	hexA := strings.TrimPrefix(digestA, "sha256:")
	pending := func(extra func(string)) func(string) {
		return func(s string) {
			writeState(s, "pending", target)
			if extra != nil {
				extra(s)
			}
		}
	}
	conf := func(body string) func(string) {
		return func(s string) { os.WriteFile(filepath.Join(filepath.Dir(s), "gate.conf"), []byte(body), 0o644) }
	}
	booted := "STUB_RPM_OSTREE_OUT={\"deployments\":[{\"container-image-reference-digest\":\"" + digestA + "\"}]}"
	units := "UNITS='gateway.service vllm-main.service'\nCONTAINERS='vllm-main'\nDEADLINE=100000\nINTERVAL=5\n"
	cases := []struct {
		name      string
		stubs     []string
		env       []string
		setup     func(string)
		wantCode  int
		wantCalls []string
		current   string
		failed    string // reason recorded for digestA
	}{
		{name: "nothing pending", stubs: allStubs, setup: nil},
		{name: "healthy", stubs: allStubs, env: []string{booted}, setup: pending(conf(units)),
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"systemctl is-failed --quiet gateway.service", "systemctl is-active --quiet gateway.service",
				"systemctl is-failed --quiet vllm-main.service", "systemctl is-active --quiet vllm-main.service",
				"podman healthcheck run vllm-main"},
			current: target},
		{name: "healthy on the second round", stubs: allStubs, env: []string{booted, "STUB_ACTIVE_AFTER=2"}, setup: pending(conf("UNITS=vllm-main.service\nDEADLINE=100000\nINTERVAL=5\n")),
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"systemctl is-failed --quiet vllm-main.service", "systemctl is-active --quiet vllm-main.service",
				"sleep 5",
				"systemctl is-failed --quiet vllm-main.service", "systemctl is-active --quiet vllm-main.service"},
			current: target},
		{name: "booted the wrong deployment", stubs: allStubs, env: []string{"STUB_RPM_OSTREE_OUT={\"deployments\":[{\"container-image-reference-digest\":\"" + digestB + "\"}]}"},
			setup: pending(conf(units)), wantCode: 1,
			wantCalls: []string{"rpm-ostree status --booted --json", "bootc rollback", "systemctl reboot"},
			failed:    "the booted deployment is not " + target},
		{name: "a unit failed", stubs: allStubs, env: []string{booted, "STUB_FAILED=0"}, setup: pending(conf(units)), wantCode: 1,
			wantCalls: []string{"rpm-ostree status --booted --json", "systemctl is-failed --quiet gateway.service", "bootc rollback", "systemctl reboot"},
			failed:    "gateway.service failed"},
		{name: "deadline passes, rpm-ostree rollback", stubs: noBootc, env: []string{booted, "STUB_PODMAN_EXIT=1"},
			setup: pending(conf("UNITS=vllm-main.service\nCONTAINERS=vllm-main\nDEADLINE=0\n")), wantCode: 1,
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"systemctl is-failed --quiet vllm-main.service", "systemctl is-active --quiet vllm-main.service",
				"podman healthcheck run vllm-main",
				"rpm-ostree rollback", "systemctl reboot"},
			failed: "not healthy within 0s: vllm-main(unhealthy)"},
		{name: "weights still fetching, then healthy", stubs: allStubs, env: []string{booted, "STUB_SHOW_SEQ=activating,activating,active"},
			setup: pending(conf("PREPARE=sovereign-model-m.service\nPREPARE_DEADLINE=0\nUNITS=vllm-main.service\nDEADLINE=100000\nINTERVAL=5\n")),
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"systemctl show -p ActiveState --value sovereign-model-m.service", "sleep 5",
				"systemctl show -p ActiveState --value sovereign-model-m.service", "sleep 5",
				"systemctl show -p ActiveState --value sovereign-model-m.service",
				"systemctl is-failed --quiet vllm-main.service", "systemctl is-active --quiet vllm-main.service"},
			current: target},
		{name: "weights fetch failed", stubs: allStubs, env: []string{booted, "STUB_SHOW_SEQ=activating,failed"},
			setup:    pending(conf("PREPARE=sovereign-model-m.service\nUNITS=vllm-main.service\nINTERVAL=5\n")),
			wantCode: 1,
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"systemctl show -p ActiveState --value sovereign-model-m.service", "sleep 5",
				"systemctl show -p ActiveState --value sovereign-model-m.service",
				"bootc rollback", "systemctl reboot"},
			failed: "sovereign-model-m.service failed"},
		{name: "preparation past its deadline", stubs: append([]string{"date"}, allStubs...), env: []string{booted, "STUB_SHOW_SEQ=activating,activating,activating"},
			setup:    pending(conf("PREPARE='sovereign-model-m.service sovereign-nvidia-cdi.service'\nPREPARE_DEADLINE=2000\nUNITS=vllm-main.service\nINTERVAL=5\n")),
			wantCode: 1,
			wantCalls: []string{
				"rpm-ostree status --booted --json",
				"date +%s",
				"systemctl show -p ActiveState --value sovereign-model-m.service",
				"systemctl show -p ActiveState --value sovereign-nvidia-cdi.service",
				"date +%s", "sleep 5",
				"systemctl show -p ActiveState --value sovereign-model-m.service",
				"systemctl show -p ActiveState --value sovereign-nvidia-cdi.service",
				"date +%s",
				"bootc rollback", "systemctl reboot"},
			failed: "not ready within 2000s: sovereign-model-m.service sovereign-nvidia-cdi.service"},
		{name: "bootc rollback fails, rpm-ostree's is tried", stubs: allStubs, env: []string{booted, "STUB_FAILED=0", "STUB_BOOTC_EXIT=1", "STUB_RPM_OSTREE_EXIT=0"},
			setup: pending(conf(units)), wantCode: 1,
			wantCalls: []string{"rpm-ostree status --booted --json", "systemctl is-failed --quiet gateway.service", "bootc rollback", "rpm-ostree rollback", "systemctl reboot"},
			failed:    "gateway.service failed"},
	}
	for _, sh := range shells(t) {
		for _, tc := range cases {
			t.Run(filepath.Base(sh)+"/"+tc.name, func(t *testing.T) {
				r := runScript(t, sh, gateScript, tc.stubs, tc.env, tc.setup)
				if r.code != tc.wantCode {
					t.Fatalf("exit %d, want %d; output:\n%s", r.code, tc.wantCode, r.out)
				}
				if diff := cmp.Diff(tc.wantCalls, r.calls); diff != "" {
					t.Errorf("commands run (-want +got):\n%s\noutput:\n%s", diff, r.out)
				}
				if got := readState(t, r.state, "current"); got != tc.current {
					t.Errorf("current = %q, want %q", got, tc.current)
				}
				if got := readState(t, r.state, "failed/"+hexA); got != tc.failed {
					t.Errorf("failed marker = %q, want %q", got, tc.failed)
				}
				if tc.setup != nil && readState(t, r.state, "pending") != "" {
					t.Errorf("pending left behind")
				}
			})
		}
	}
}

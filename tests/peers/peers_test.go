package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The appliance fixture is laid out like sovereign's out/: config.bu whose local: paths are
// relative to rootfs/, and rootfs/ with a quadlet, a volume, a plain service and its timer.
const appliance = "testdata/appliance"

func TestVerifyUnitsAcceptsGoodUnits(t *testing.T) {
	t.Parallel()
	units, err := verifyUnits(t, filepath.Join(appliance, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	// The quadlet's and the volume's generated services are verified along with the plain units.
	want := []string{"web-data-volume.service", "web-health.service", "web-health.timer", "web.service"}
	if diff := cmp.Diff(want, units); diff != "" {
		t.Errorf("verified units mismatch (-want +got):\n%s", diff)
	}
	if n := VerifyUnits(t, filepath.Join(appliance, "rootfs")); n != len(want) {
		t.Errorf("VerifyUnits = %d, want %d", n, len(want))
	}
}

func TestVerifyUnitsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    string // a fragment of the validator's message
	}{
		{fixture: "misspelled-key", want: "unsupported key 'Imagee' in group 'Container'"},
		// systemd-analyze exits 0 on an unknown key; only its output gives it away.
		{fixture: "restartsecc", want: "Unknown key 'RestartSecc' in section [Service]"},
		// A typo in a quadlet's [Service] passes quadlet and is caught in the generated unit.
		{fixture: "container-service-typo", want: "Unknown key 'RestartSecc' in section [Service]"},
		{fixture: "missing-requires", want: "no-such-unit.service not found"},
		// rootfs ships the script, but not executable: no stub hides that.
		{fixture: "not-executable", want: "/usr/local/bin/app-setup is not executable"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			_, err := verifyUnits(t, filepath.Join("testdata", "units", tc.fixture, "rootfs"))
			if err == nil {
				t.Fatalf("verifyUnits accepted %s, want an error containing %q", tc.fixture, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verifyUnits error does not mention %q:\n%v", tc.want, err)
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}

func TestButaneIgnitionApply(t *testing.T) {
	t.Parallel()
	ign := ButaneTranslate(t, filepath.Join(appliance, "config.bu"), filepath.Join(appliance, "rootfs"))
	config := filepath.Join(t.TempDir(), "ignition.json")
	if err := os.WriteFile(config, ign, 0o644); err != nil {
		t.Fatal(err)
	}
	IgnitionValidate(t, config)
	root := ApplyIgnition(t, config)

	pub := readFile(t, filepath.Join(appliance, "config.bu"))
	key := pub[strings.Index(pub, "ssh-ed25519"):]
	key = key[:strings.Index(key, "\n")]
	if got := readFile(t, filepath.Join(root, "home/core/.ssh/authorized_keys.d/ignition")); !strings.Contains(got, key) {
		t.Errorf("core's authorized_keys.d/ignition = %q, want it to contain %q", got, key)
	}
	if got := readFile(t, filepath.Join(root, "etc/passwd")); !strings.Contains(got, "\ncore:") || !strings.Contains(got, "\nsvc-web:") {
		t.Errorf("etc/passwd lacks core or svc-web:\n%s", got)
	}
	if got := readFile(t, filepath.Join(root, "etc/group")); !strings.Contains(got, "\nwheel:x:10:core\n") || !strings.Contains(got, "\nsudo:x:16:core\n") {
		t.Errorf("core is not in wheel and sudo:\n%s", got)
	}

	modes := map[string]os.FileMode{
		"etc/sovereign/api-token":                0o600,
		"usr/local/bin/web-health":               0o755,
		"etc/containers/systemd/web.container":   0o644,
		"etc/containers/systemd/web-data.volume": 0o644,
		"etc/systemd/system/web-health.service":  0o644,
		"etc/systemd/system/web-health.timer":    0o644,
	}
	for path, want := range modes {
		fi, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("Ignition did not write %s: %v", path, err)
			continue
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %#o, want %#o", path, got, want)
		}
	}
	if got, want := readFile(t, filepath.Join(root, "etc/sovereign/api-token")), "not-a-real-token"; got != want {
		t.Errorf("api-token = %q, want %q", got, want)
	}
	// Files written from local: sources are byte-identical to rootfs.
	for _, path := range []string{"etc/containers/systemd/web.container", "etc/systemd/system/web-health.timer"} {
		if diff := cmp.Diff(readFile(t, filepath.Join(appliance, "rootfs", path)), readFile(t, filepath.Join(root, path))); diff != "" {
			t.Errorf("%s differs from rootfs (-rootfs +sysroot):\n%s", path, diff)
		}
	}

	preset := readFile(t, filepath.Join(root, "etc/systemd/system-preset/20-ignition.preset"))
	if !strings.Contains(preset, "enable web-health.timer") {
		t.Errorf("20-ignition.preset does not enable web-health.timer:\n%s", preset)
	}
	if link, err := os.Readlink(filepath.Join(root, "etc/systemd/system/docker.service")); err != nil || link != "/dev/null" {
		t.Errorf("docker.service is not masked: link %q, %v", link, err)
	}
}

func TestIgnitionValidateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    string
	}{
		{fixture: "relative-path.json", want: "path not absolute"},
		// Only a warning, exit 0: the helper still fails on it.
		{fixture: "enabled-without-install.json", want: "has no install section"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			err := ignitionValidate(t, filepath.Join("testdata", "ignition", tc.fixture))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ignitionValidate(%s) = %v, want an error containing %q", tc.fixture, err, tc.want)
			}
		})
	}
}

func TestApplyIgnitionRejects(t *testing.T) {
	t.Parallel()
	// ignition-validate accepts a user in a group that does not exist; only applying finds it.
	config := filepath.Join("testdata", "ignition", "missing-group.json")
	if err := ignitionValidate(t, config); err != nil {
		t.Fatalf("fixture should pass ignition-validate: %v", err)
	}
	_, err := applyIgnition(t, config)
	if err == nil || !strings.Contains(err.Error(), "no-such-group") {
		t.Errorf("applyIgnition(%s) = %v, want an error naming no-such-group", config, err)
	}
}

func TestButaneTranslateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		want    string
	}{
		{fixture: "unused-key.bu", want: "unused key owner"},
		{fixture: "missing-local.bu", want: "etc/app.conf"},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			ign, err := butaneTranslate(t, filepath.Join("testdata", "butane", tc.fixture), filepath.Join(appliance, "rootfs"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("butaneTranslate(%s) = %q, %v; want an error containing %q", tc.fixture, ign, err, tc.want)
			}
		})
	}
}

func TestToolPrefersToolsBin(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "butane")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOVEREIGN_TOOLS_BIN", dir)
	if got := Tool(t, "butane"); got != fake {
		t.Errorf("Tool(butane) = %q, want $SOVEREIGN_TOOLS_BIN's %q", got, fake)
	}
}

func TestToolMissingSkipsOrFailsUnderCI(t *testing.T) {
	for _, tc := range []struct {
		ci   string
		want string
	}{
		{ci: "", want: "skip"},
		{ci: "true", want: "fatal"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			rec := &recorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Tool(rec, "sovereign-no-such-validator")
				rec.ended = "returned"
			}()
			<-done
			if rec.ended != tc.want {
				t.Errorf("Tool with a missing validator and CI=%q ended with %s (%s), want %s", tc.ci, rec.ended, rec.msg, tc.want)
			}
		})
	}
}

// recorder stands in for the testing.TB that Tool ends, so the skip/fail decision can be
// observed without skipping or failing the real test. Like testing's, its Skipf and Fatalf stop
// the goroutine.
type recorder struct {
	testing.TB
	ended, msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.ended, r.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.ended, r.msg = "skip", fmt.Sprint(args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.ended, r.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

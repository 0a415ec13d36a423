package peers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// IgnitionValidate runs ignition-validate on the file; any output (warning or error) fails.
// Warnings matter: an enabled unit without [Install], for one, validates with exit 0 and is
// then never started on the appliance.
func IgnitionValidate(t testing.TB, ignitionJSON string) {
	t.Helper()
	if err := ignitionValidate(t, ignitionJSON); err != nil {
		t.Fatal(err)
	}
}

// ignitionValidate is IgnitionValidate without failing the test.
func ignitionValidate(tb testing.TB, ignitionJSON string) error {
	tb.Helper()
	validate := Tool(tb, "ignition-validate")
	tb.Logf("peer check: ignition-validate %s", ignitionJSON)
	r := run(tb, nil, validate, ignitionJSON)
	if out := r.combined(); r.err != nil || out != "" {
		return fmt.Errorf("ignition-validate rejected %s (%s):\n%s", ignitionJSON, r.status(), out)
	}
	return nil
}

// ApplyIgnition runs the real Ignition fetch-offline + files stages (-platform file) into a
// fresh scratch sysroot and returns its path, so tests can check what the appliance's first
// boot would write: users, SSH keys, files with their modes, units, presets. Validation alone
// misses what only applying finds (a user in a group that does not exist, two entries for one
// path). The sysroot is made like a minimal Fedora CoreOS /: passwd, group, shadow, gshadow,
// login.defs, the wheel group, and a stub zincati.service (which FCOS ships and configs mask or
// drop into). Each call gets its own sysroot because Ignition refuses to run twice on one root.
// Ignition chowns what it writes, so it needs root: without it the test skips (fails under CI).
func ApplyIgnition(t testing.TB, ignitionJSON string) string {
	t.Helper()
	root, err := applyIgnition(t, ignitionJSON)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// applyIgnition is ApplyIgnition without failing the test.
func applyIgnition(tb testing.TB, ignitionJSON string) (string, error) {
	tb.Helper()
	ignition := Tool(tb, "ignition")
	if os.Geteuid() != 0 {
		missing(tb, errors.New("applying Ignition needs root (it chowns what it writes)"))
	}
	config, err := filepath.Abs(ignitionJSON)
	if err != nil {
		return "", err
	}
	// Not tb.TempDir(): its directories are mode 0700, and Ignition writes a user's home
	// (.ssh/authorized_keys.d) as that user, who must be able to walk down to the sysroot.
	scratch, err := os.MkdirTemp("", "sovereign-ignition-")
	if err != nil {
		return "", err
	}
	tb.Cleanup(func() { os.RemoveAll(scratch) })
	if err := os.Chmod(scratch, 0o755); err != nil {
		return "", err
	}
	root := filepath.Join(scratch, "sysroot")
	state := filepath.Join(scratch, "state")
	if err := makeSysroot(root); err != nil {
		return "", fmt.Errorf("making sysroot: %w", err)
	}
	if err := os.Mkdir(state, 0o755); err != nil {
		return "", err
	}

	tb.Logf("peer check: ignition fetch-offline+files %s", ignitionJSON)
	env := []string{"IGNITION_CONFIG_FILE=" + config}
	neednet := filepath.Join(state, "neednet")
	for _, stage := range []string{"fetch-offline", "files"} {
		r := run(tb, env, ignition, "-platform", "file", "-stage", stage, "-root", root, "-log-to-stdout",
			"-config-cache", filepath.Join(state, "ignition.json"),
			"-state-file", filepath.Join(state, "state"),
			"-neednet", neednet)
		if r.err != nil {
			return root, fmt.Errorf("ignition %s stage failed on %s (%s):\n%s", stage, ignitionJSON, r.status(), ignitionProblems(r.combined()))
		}
		if _, err := os.Stat(neednet); err == nil {
			return root, fmt.Errorf("ignition needs the network for %s (a remote source?); the appliance config must apply offline", ignitionJSON)
		}
	}
	return root, nil
}

// ignitionProblems picks Ignition's WARNING, ERROR and CRITICAL lines out of its verbose log
// (which also dumps the whole config); if it has none, the end of the log is returned.
func ignitionProblems(log string) string {
	lines := strings.Split(log, "\n")
	var problems []string
	for _, line := range lines {
		level, _, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(level) {
		case "WARNING", "ERROR", "CRITICAL":
			problems = append(problems, line)
		}
	}
	if len(problems) > 0 {
		return strings.Join(problems, "\n")
	}
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// makeSysroot lays out the minimal root that Ignition's files stage needs: the account databases that useradd/groupadd
// --root edit, login.defs for their defaults, and units that FCOS configs refer to.
// /etc/group holds the groups FCOS keeps there (its manifest's etc-group-members: wheel, sudo,
// systemd-journal, adm), so a user put in sudo applies here as it would on the appliance.
func makeSysroot(root string) error {
	for _, dir := range []string{"etc", "usr/lib/systemd/system", "var", "home", "root", "usr/share/zoneinfo"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return err
		}
	}
	loginDefs, err := os.ReadFile("/etc/login.defs")
	if errors.Is(err, fs.ErrNotExist) {
		loginDefs = []byte("UID_MIN 1000\nUID_MAX 60000\nSYS_UID_MIN 101\nSYS_UID_MAX 999\n" +
			"GID_MIN 1000\nGID_MAX 60000\nSYS_GID_MIN 101\nSYS_GID_MAX 999\nCREATE_HOME yes\n")
	} else if err != nil {
		return err
	}
	files := []struct {
		path    string
		content string
		mode    fs.FileMode
	}{
		{"etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644},
		{"etc/group", "root:x:0:\nadm:x:4:\nwheel:x:10:\nsudo:x:16:\nsystemd-journal:x:190:\n", 0o644},
		{"etc/shadow", "root:*::0:99999:7:::\n", 0o600},
		{"etc/gshadow", "root:*::\nadm:!::\nwheel:!::\nsudo:!::\nsystemd-journal:!::\n", 0o600},
		{"etc/login.defs", string(loginDefs), 0o644},
		{"usr/share/zoneinfo/UTC", "", 0o644},
		{"usr/lib/systemd/system/zincati.service", "[Service]\nExecStart=/usr/bin/zincati\n", 0o644},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(root, f.path), []byte(f.content), f.mode); err != nil {
			return err
		}
	}
	return nil
}

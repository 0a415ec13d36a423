// Package peers runs the real validators ("peers") over a directory rendered by sovereign, so
// tests check the compiler's output with the same programs that will read it on the appliance:
// Podman's quadlet generator, systemd-analyze, Butane, ignition-validate and the Ignition binary.
//
// The layout it expects is sovereign's out/ directory:
//
//	ignition.json   Ignition 3.5 config
//	config.bu       Butane fcos 1.6; file contents are local: paths relative to rootfs/
//	rootfs/         every file at its final path (quadlets in etc/containers/systemd,
//	                plain units in etc/systemd/system)
//	manifest.json
//
// The validator binaries are built by tests/tools/install.sh at pinned versions. Every helper
// logs one "peer check: <tool> <what>" line per validator run, so
// `go test -v ./... | grep -c 'peer check:'` counts the checks a run made. Helpers use only
// t.TempDir() for scratch space and are safe under t.Parallel().
package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rootModule is the root module's path; repoRoot uses it to tell the repository's go.mod
// from the nested tests/tools module.
const rootModule = "github.com/sovereign-collective/sovereign"

// toolTimeout bounds one validator run, so a hung peer fails the test instead of eating the
// whole CI budget.
const toolTimeout = 2 * time.Minute

// Tool returns the absolute path of validator NAME: $SOVEREIGN_TOOLS_BIN/NAME, then
// <repo>/tests/tools/bin/NAME, then $PATH. The pinned build comes before $PATH so that a
// different version installed on the host never answers for the pinned one.
// When absent it skips the test, except under CI=true where it fails the test: CI must never
// skip a peer check, because a skipped check looks green while checking nothing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := lookupTool(name)
	if err != nil {
		missing(t, err)
	}
	return path
}

// missing ends a test that cannot run a peer: a skip on a developer's machine (they may not
// have built tests/tools yet), a failure under CI=true.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: peer checks never skip)", err)
	}
	t.Skip(err)
}

// lookupTool is Tool without the testing side: it returns where NAME was found or why not.
func lookupTool(name string) (string, error) {
	var tried []string
	add := func(dir string) {
		if dir != "" {
			tried = append(tried, filepath.Join(dir, name))
		}
	}
	add(os.Getenv("SOVEREIGN_TOOLS_BIN"))
	if root, err := repoRoot(); err == nil {
		add(filepath.Join(root, "tests", "tools", "bin"))
	}
	for _, p := range tried {
		if isExecutable(p) {
			return filepath.Abs(p)
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	tried = append(tried, "$PATH")
	return "", fmt.Errorf("validator %s not found (looked in %s); build it with bash tests/tools/install.sh",
		name, strings.Join(tried, ", "))
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// repoRoot finds the repository root: first from this source file's location (robust to a
// test that changes directory), then by walking up from the working directory (for builds
// with -trimpath, where the source path is not absolute).
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			if isRootModule(filepath.Join(dir, "go.mod")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("repository root (go.mod of " + rootModule + ") not found")
}

func isRootModule(goMod string) bool {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == rootModule
		}
	}
	return false
}

// result is what one validator run printed. Validators are judged on their output as well as
// their exit status, because several of them (systemd-analyze, quadlet) warn with exit 0.
type result struct {
	stdout, stderr []byte
	err            error // non-nil when the process could not run or exited non-zero
}

// combined is stdout and stderr together, for "any output fails" checks and error messages.
func (r result) combined() string {
	return strings.TrimSpace(string(r.stdout) + string(r.stderr))
}

// run executes a validator with a timeout tied to the test's lifetime.
func run(tb testing.TB, env []string, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(tb.Context(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
}

// status says how the run ended, for messages: "exit status 1", or that it exited 0 but
// printed something.
func (r result) status() string {
	if r.err != nil {
		return r.err.Error()
	}
	return "exit status 0 with output"
}

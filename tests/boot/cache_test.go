package boot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebootstrapRetries: a debootstrap run that fails (a download the
// mirror dropped) is run again on a fresh root, keeping the packages it
// fetched, and the guest's preseed files are in place for every attempt.
func TestDebootstrapRetries(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	// A stand-in debootstrap: it fails its first run, after leaving a
	// file in the root, and succeeds the next. It records its arguments
	// and whether it found the preseed in place and the failed run's
	// leftovers gone.
	fake := `#!/bin/sh
root=$(eval echo \${$(($# - 1))})
echo "$*" >>` + calls + `
test -f "$root/` + dpkgUnsafeIO + `" || { echo "no preseed" >>` + calls + `; exit 2; }
test ! -e "$root/leftover" || { echo "leftover" >>` + calls + `; exit 2; }
if [ ! -e ` + dir + `/failed ]; then touch ` + dir + `/failed "$root/leftover"; exit 1; fi
`
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	var log bytes.Buffer
	root, debs := filepath.Join(dir, "root"), filepath.Join(dir, "debs")
	if err := debootstrap(t.Context(), &log, "systemd,podman", root, debs); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, log.String())
	}
	raw, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	runs := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(runs) != 2 {
		t.Fatalf("debootstrap ran %d times, want 2 (one failure, one retry):\n%s", len(runs), raw)
	}
	for _, r := range runs {
		if !strings.Contains(r, "--cache-dir="+debs) || !strings.Contains(r, "--include=systemd,podman") {
			t.Errorf("debootstrap %s: want --cache-dir=%s, so a retry keeps the downloaded packages, and the package list", r, debs)
		}
	}
	if !strings.Contains(log.String(), "attempt 2 of 3") {
		t.Errorf("the retry is not logged:\n%s", log.String())
	}
}

// TestDebootstrapGivesUp: a debootstrap that always fails is tried three
// times, then its error is returned.
func TestDebootstrapGivesUp(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "calls")
	if err := os.WriteFile(filepath.Join(bin, "debootstrap"), []byte("#!/bin/sh\necho run >>"+calls+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	err := debootstrap(t.Context(), &bytes.Buffer{}, "systemd", filepath.Join(dir, "root"), filepath.Join(dir, "debs"))
	if err == nil {
		t.Fatal("debootstrap that always fails: no error")
	}
	raw, _ := os.ReadFile(calls)
	if n := strings.Count(string(raw), "run"); n != debootstrapAttempts {
		t.Errorf("debootstrap ran %d times, want %d", n, debootstrapAttempts)
	}
}

// Package golden compares test output with files under testdata, and
// rewrites them when asked: with -update in a package that imports this one,
// or SOVEREIGN_UPDATE_GOLDEN=1 anywhere (go test ./... -update fails in
// packages that do not define the flag, so a repo-wide update needs the
// environment variable; make golden sets it).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Updating reports whether golden files are being rewritten.
func Updating() bool {
	return *update || os.Getenv("SOVEREIGN_UPDATE_GOLDEN") == "1"
}

// Check compares got with the golden file at path, or writes it when
// updating. Differences are shown line by line, -want +got.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run make golden to create it): %v", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s mismatch (-want +got):\n%s\nrun `make golden` if the change is intended", path, cmp.Diff(string(want), string(got)))
	}
}

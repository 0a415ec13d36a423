package peers

import (
	"fmt"
	"path/filepath"
	"testing"
)

// ButaneTranslate runs `butane --strict --files-dir FILESDIR BU` and returns the Ignition JSON.
// Any warning fails the test: --strict already turns warnings into exit 1, and anything else on
// stderr is treated the same, so the Butane config sovereign writes is one a person could feed
// to the real Butane and get the same Ignition without a complaint.
func ButaneTranslate(t testing.TB, bu, filesDir string) []byte {
	t.Helper()
	ign, err := butaneTranslate(t, bu, filesDir)
	if err != nil {
		t.Fatal(err)
	}
	return ign
}

// butaneTranslate is ButaneTranslate without failing the test.
func butaneTranslate(tb testing.TB, bu, filesDir string) ([]byte, error) {
	tb.Helper()
	butane := Tool(tb, "butane")
	filesDir, err := filepath.Abs(filesDir)
	if err != nil {
		return nil, err
	}
	tb.Logf("peer check: butane --strict %s", bu)
	r := run(tb, nil, butane, "--strict", "--files-dir", filesDir, bu)
	if r.err != nil || len(r.stderr) > 0 {
		return nil, fmt.Errorf("butane rejected %s (%s):\n%s", bu, r.status(), r.stderr)
	}
	if len(r.stdout) == 0 {
		return nil, fmt.Errorf("butane printed no Ignition config for %s", bu)
	}
	return r.stdout, nil
}

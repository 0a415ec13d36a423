package boot

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeGivesStartupCheckFilter: the pattern README tells monitoring to
// leave out of `systemctl --failed` is the one the boot test allows while
// the engine loads, and it matches the names Podman gives its start-up
// health checks' transient units, and nothing else the appliance runs.
func TestReadmeGivesStartupCheckFilter(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`"+StartupCheckUnit.String()+"`") {
		t.Errorf("README does not give monitoring the filter %s for start-up health checks' failed units", StartupCheckUnit)
	}
	id := strings.Repeat("0123456789abcdef", 4)
	for name, want := range map[string]bool{
		id + "-startup-6f3a2b1c9d.service": true,
		id + "-startup-6f3a2b1c9d.timer":   true,
		id + "-6f3a2b1c9d.service":         false, // the steady-state check: its failures count
		"vllm-main.service":                false,
		"gateway-nginx.service":            false,
	} {
		if got := StartupCheckUnit.MatchString(name); got != want {
			t.Errorf("%s: filtered out %v, want %v", name, got, want)
		}
	}
}

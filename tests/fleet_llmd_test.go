package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// fleetLLMDCase is the reference fleet routed by llm-d's endpoint picker
// and Envoy instead of nginx's upstreams: the same two GB300, the same
// members and engines.
const fleetLLMDCase = "testdata/blueprints/fleet-llmd"

// TestFleetLLMDGolden compares the llm-d fleet's whole output with
// testdata/golden/fleet-llmd.
func TestFleetLLMDGolden(t *testing.T) {
	out, _ := buildFleet(t, fleetLLMDCase)
	got := readTree(t, out)
	goldenDir := filepath.Join("testdata", "golden", "fleet-llmd")
	if golden.Updating() {
		os.RemoveAll(goldenDir)
	}
	for _, rel := range sortedKeys(got) {
		golden.Check(t, filepath.Join(goldenDir, filepath.FromSlash(rel)), got[rel])
	}
	want := readTree(t, goldenDir)
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
		t.Errorf("output files differ from the golden tree (-want +got):\n%s", diff)
	}
}

// TestFleetLLMDValidators runs the peers over the llm-d fleet: Podman's
// quadlet generator and systemd-analyze verify over every unit (the
// gateway host's two more: the endpoint picker and Envoy), ignition-
// validate, and on the gateway host nginx -t and oauth2-proxy
// --config-test over the gateway that now proxies to Envoy.
func TestFleetLLMDValidators(t *testing.T) {
	out, res := buildFleet(t, fleetLLMDCase)
	wantUnits := map[string]int{"station": 10, "annex": 5}
	for i, h := range res.Fleet.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			dir := filepath.Join(out, h.Name)
			if n := peers.VerifyUnits(t, filepath.Join(dir, pipeline.RootfsDir)); n != wantUnits[h.Name] {
				t.Errorf("systemd-analyze verified %d units, want %d", n, wantUnits[h.Name])
			}
			peers.IgnitionValidate(t, filepath.Join(dir, pipeline.IgnitionFile))
			if h == res.Fleet.GatewayHost {
				checkGatewayConfigs(t, res.Hosts[i])
			}
		})
	}
}

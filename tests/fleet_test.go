package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/link"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// fleetCase is the reference fleet: two GB300 behind one gateway.
const fleetCase = "../blueprints/fleet-two-gb300.hcl"

// buildFleet builds a fleet blueprint and writes out/ with one folder per
// host into a fresh temporary folder, which it returns.
func buildFleet(t testing.TB, path string, vars ...lang.VarSetting) (string, *pipeline.FleetResult) {
	t.Helper()
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	res, diags := pipeline.BuildFleet(p, path, lang.Inputs{Vars: vars})
	if diags.HasErrors() {
		var buf bytes.Buffer
		for _, d := range diags {
			buf.WriteString(d.Error() + "\n")
		}
		t.Fatalf("building %s:\n%s", path, buf.String())
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := pipeline.WriteFleet(afero.NewOsFs(), out, res); err != nil {
		t.Fatal(err)
	}
	return out, res
}

// TestFleetGolden compares the reference fleet's whole output — fleet.json
// and every host's folder — with testdata/golden/fleet-two-gb300.
func TestFleetGolden(t *testing.T) {
	out, res := buildFleet(t, fleetCase)
	if len(res.Hosts) != 2 {
		t.Fatalf("the reference fleet has %d hosts, want 2", len(res.Hosts))
	}
	got := readTree(t, out)
	goldenDir := filepath.Join("testdata", "golden", "fleet-two-gb300")
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

// TestFleetValidators runs every peer the single-host references pass
// over each host's output: quadlet and systemd-analyze verify, ignition-
// validate, butane, and Ignition's files stage; and nft checks each host's
// link firewall.
func TestFleetValidators(t *testing.T) {
	nft := peers.Tool(t, "nft")
	out, res := buildFleet(t, fleetCase)
	wantUnits := map[string]int{"station": 9, "annex": 8}
	for i, h := range res.Fleet.Hosts {
		t.Run(h.Name, func(t *testing.T) {
			dir := filepath.Join(out, h.Name)
			rootfs := filepath.Join(dir, output.RootfsDir)
			ign := filepath.Join(dir, output.IgnitionFile)
			if n := peers.VerifyUnits(t, rootfs); n != wantUnits[h.Name] {
				t.Errorf("systemd-analyze verified %d units, want %d", n, wantUnits[h.Name])
			}
			peers.IgnitionValidate(t, ign)
			fromButane := peers.ButaneTranslate(t, filepath.Join(dir, output.ButaneFile), rootfs)
			if diff := cmp.Diff(canonicalJSON(t, res.Hosts[i].Ignition), canonicalJSON(t, fromButane)); diff != "" {
				t.Errorf("butane --strict config.bu differs from ignition.json (-ours +butane):\n%s", diff)
			}
			checkApplied(t, peers.ApplyIgnition(t, ign), res.Hosts[i])
			table := filepath.Join(rootfs, filepath.FromSlash(link.FirewallFile))
			if b, err := exec.Command(nft, "--check", "-f", table).CombinedOutput(); err != nil {
				t.Errorf("nft --check -f %s: %v\n%s", link.FirewallFile, err, b)
			}
			t.Logf("peer check: nft --check -f %s", link.FirewallFile)
		})
	}
}

// TestFleetLinkKeyfiles gives each host's WireGuard keyfile to
// NetworkManager's own keyfile reader (`nmcli --offline`), which must keep
// every setting, and checks with WireGuard's own tool (`wg pubkey`) that
// each peer section names the public key of the other host's private key.
func TestFleetLinkKeyfiles(t *testing.T) {
	nmcli := needCommand(t, "nmcli")
	wg := needCommand(t, "wg")
	out, res := buildFleet(t, fleetCase)
	for _, h := range res.Fleet.Hosts {
		path := filepath.Join(out, h.Name, output.RootfsDir, link.Keyfile)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600: it holds the host's private key", path, info.Mode().Perm())
		}
		ours, _ := os.ReadFile(path)
		cmd := exec.Command(nmcli, "--offline", "connection", "modify", "connection.id", link.Connection)
		cmd.Stdin = bytes.NewReader(ours)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		t.Logf("peer check: nmcli --offline %s of host %s", link.Keyfile, h.Name)
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("nmcli rejects host %s's link keyfile: %v\n%s", h.Name, err, stderr.String())
		}
		theirs := iniValues(stdout.String())
		peersSeen := 0
		for key, value := range iniValues(string(ours)) {
			if key == "connection.autoconnect" && value == "true" {
				continue // the default, which NetworkManager leaves out
			}
			if theirs[key] != value {
				t.Errorf("host %s: NetworkManager reads %s as %q, want %q; it wrote:\n%s", h.Name, key, theirs[key], value, stdout.String())
			}
			if pub, ok := strings.CutPrefix(key, "wireguard-peer."); ok && strings.HasSuffix(pub, ".allowed-ips") {
				peersSeen++
				pub = strings.TrimSuffix(pub, ".allowed-ips")
				peer := hostAt(t, res, strings.TrimSuffix(value, "/32;"))
				derive := exec.Command(wg, "pubkey")
				derive.Stdin = strings.NewReader(peer.PrivateKey.Value + "\n")
				want, err := derive.Output()
				if err != nil {
					t.Fatalf("wg pubkey: %v", err)
				}
				if pub != strings.TrimSpace(string(want)) {
					t.Errorf("host %s's peer %s has public key %s; wg pubkey of its private key says %s", h.Name, peer.Name, pub, want)
				}
			}
		}
		if peersSeen != len(res.Fleet.Hosts)-1 {
			t.Errorf("host %s's keyfile has %d peers, want %d", h.Name, peersSeen, len(res.Fleet.Hosts)-1)
		}
	}
}

// hostAt is the fleet's host with link address addr.
func hostAt(t *testing.T, res *pipeline.FleetResult, addr string) *spec.Host {
	t.Helper()
	for _, h := range res.Fleet.Hosts {
		if h.Address.String() == addr {
			return h
		}
	}
	t.Fatalf("no host has link address %s", addr)
	return nil
}

// TestFleetExampleLinkKeys: the reference fleet builds with the published
// example WireGuard keys, and the build warns about each at its host's
// private_key, as it warns about the other reference placeholders.
func TestFleetExampleLinkKeys(t *testing.T) {
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	_, diags := pipeline.BuildFleet(p, fleetCase, lang.Inputs{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	src, err := os.ReadFile(fleetCase)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, "private_key = secret_file(") {
			want[i+1] = true
		}
	}
	got := map[int]bool{}
	for _, d := range diags {
		if d.Summary == "Published example link key" && d.Severity == hcl.DiagWarning && d.Subject != nil {
			got[d.Subject.Start.Line] = true
		}
	}
	if len(want) != 2 || !cmp.Equal(got, want) {
		t.Errorf("warnings at lines %v, want one at each host's private_key %v", got, want)
	}
}

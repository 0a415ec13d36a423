package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/update"
)

// imagePinned stands for the appliance image's digest reference; what the
// image is does not matter to the Ignition config, only that it is pinned.
const imagePinned = "registry.example.org/coop/appliance@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestImageModeValidators: an image-mode build of kitchen-sink (the update
// path, the timer, the bootstrap Ignition config) passes the real peers —
// quadlet and systemd-analyze over every unit including sovereign-switch,
// ignition-validate, butane over config.bu, and the real Ignition files
// stage — and Ignition writes only what must exist before the switch.
func TestImageModeValidators(t *testing.T) {
	for _, c := range referenceCases {
		extra := map[string]int{
			// update, health gate, timer, switch
			"kitchen-sink": 4,
			// and the presets unit for the WAN and UPS presets
			"dgx-station-gb300": 5,
		}[c.name]
		if extra == 0 {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testImageMode(t, c, extra)
		})
	}
}

func testImageMode(t *testing.T, c blueprintCase, extraUnits int) {
	_, res := build(t, c)
	quadlets := 0
	for _, u := range res.Tree.Units {
		if u.IsQuadlet() {
			quadlets++
		}
	}
	if d := pipeline.ImageMode(res, update.Options{Image: "registry.example.org/coop/appliance:stable", Timer: "daily"}); d.HasErrors() {
		t.Fatal(d.Error())
	}
	if d := pipeline.Bootstrap(res, imagePinned); d.HasErrors() {
		t.Fatal(d.Error())
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := pipeline.Write(afero.NewOsFs(), out, res); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(out, pipeline.RootfsDir)

	// The switch unit is Ignition's alone; verify it beside the others.
	var switchUnit string
	for _, u := range bootstrapUnits(t, res) {
		switchUnit = u
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/systemd/system", update.SwitchService), []byte(switchUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, want := peers.VerifyUnits(t, rootfs), c.wantUnits+extraUnits; n != want {
		t.Errorf("systemd-analyze verified %d units, want %d", n, want)
	}
	os.Remove(filepath.Join(rootfs, "etc/systemd/system", update.SwitchService))

	ign := filepath.Join(out, pipeline.IgnitionFile)
	peers.IgnitionValidate(t, ign)
	fromButane := peers.ButaneTranslate(t, filepath.Join(out, pipeline.ButaneFile), rootfs)
	if diff := cmp.Diff(canonicalJSON(t, res.Ignition), canonicalJSON(t, fromButane)); diff != "" {
		t.Errorf("butane --strict config.bu differs from ignition.json (-ours +butane):\n%s", diff)
	}
	for _, f := range res.Rootfs {
		if f.Secret && strings.Contains(string(res.Butane), string(f.Contents)) {
			t.Errorf("config.bu carries the secret %s", f.Path)
		}
	}

	sysroot := peers.ApplyIgnition(t, ign)
	// Written: every secret, the Zincati config, the switch unit pinned to
	// the image, the admins, the folders.
	for _, f := range res.Rootfs {
		_, err := os.Stat(filepath.Join(sysroot, f.Path))
		switch {
		case f.Secret || strings.HasPrefix(f.Path, "/etc/zincati/"):
			if err != nil {
				t.Errorf("%s was not written: %v", f.Path, err)
			}
		case err == nil && f.Path != "/etc/hostname":
			// FCOS's sysroot stub may hold /etc/hostname; anything else
			// the image carries must not be written as a local /etc file,
			// or it would shadow the image's copy forever.
			t.Errorf("%s was written by image-mode Ignition; it belongs to the image", f.Path)
		}
	}
	unit := readString(t, filepath.Join(sysroot, "etc/systemd/system", update.SwitchService))
	for _, want := range []string{
		"ExecStart=/usr/bin/rpm-ostree rebase ostree-unverified-registry:" + imagePinned,
		"ConditionPathExists=!" + update.UpdateScript,
		"ConditionPathExists=!/var/lib/sovereign/update/failed/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("the switch unit lacks %q:\n%s", want, unit)
		}
	}
	preset := readString(t, filepath.Join(sysroot, "etc/systemd/system-preset/20-ignition.preset"))
	if !strings.Contains(preset, "enable "+update.SwitchService) {
		t.Errorf("the switch unit is not enabled:\n%s", preset)
	}
	for _, u := range res.Tree.Users {
		if !strings.Contains(readString(t, filepath.Join(sysroot, "etc/passwd")), "\n"+u.Name+":") {
			t.Errorf("admin %s was not created", u.Name)
		}
	}
	if quadlets == 0 {
		t.Fatal("kitchen-sink runs no container; the health gate config would be empty")
	}
	gate := string(rootfsFile(t, res, update.GateConf))
	for _, u := range res.Tree.Units {
		if strings.HasSuffix(u.Name, ".container") && !strings.Contains(gate, strings.TrimSuffix(u.Name, ".container")+".service") {
			t.Errorf("the health gate does not wait for %s:\n%s", u.Name, gate)
		}
	}
	if c.name == "kitchen-sink" && !strings.Contains(gate, "UNITS='vllm-big.service vllm-fast.service'\nCONTAINERS='vllm-big vllm-fast'\n") {
		t.Errorf("the health gate does not wait for the engines:\n%s", gate)
	}
}

// bootstrapUnits renders the image-mode Ignition units by name.
func bootstrapUnits(t *testing.T, res *pipeline.Result) map[string]string {
	t.Helper()
	tree, err := update.Bootstrap(res.Tree, imagePinned, res.Blueprint.Appliance.DeclRange)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range tree.Units {
		b, err := u.Render()
		if err != nil {
			t.Fatal(err)
		}
		out[u.Name] = string(b)
	}
	return out
}

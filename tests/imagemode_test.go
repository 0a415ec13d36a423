package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images/imagestest"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
	"github.com/sovereign-collective/sovereign/units/update"
)

// imageRef is where the test's appliance image is meant to be pushed.
const imageRef = "registry.example.org/coop/appliance:stable"

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

// imageMode is the pipeline option of an image-mode build on a small
// in-memory base: what the base holds does not matter to the Ignition
// config, only the digest the image ends up with.
func imageMode(t *testing.T) pipeline.Option {
	return pipeline.WithApplianceImage(pipeline.ApplianceImage{
		Reference: imageRef,
		Timer:     "daily",
		Base:      "registry.example.org/fedora/fedora-coreos:stable@sha256:" + strings.Repeat("0", 64),
		Version:   "test",
		FetchBase: func(_, platform string) (v1.Image, error) { return imagestest.Image(t, platform), nil },
	})
}

func testImageMode(t *testing.T, c blueprintCase, extraUnits int) {
	out, res := build(t, c, imageMode(t))
	if res.Image == nil {
		t.Fatal("an image-mode build made no image")
	}
	imagePinned := res.Image.Info.Pinned()
	if !strings.HasPrefix(imagePinned, "registry.example.org/coop/appliance@sha256:") {
		t.Fatalf("the image is pinned as %q", imagePinned)
	}
	hex := strings.TrimPrefix(res.Image.Info.Digest, "sha256:")
	quadlets := 0
	for _, u := range res.Tree.Units {
		if u.IsQuadlet() {
			quadlets++
		}
	}
	rootfs := filepath.Join(out, output.RootfsDir)
	for _, f := range []string{output.ImageInfo, output.ImageDir + "/index.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("the image-mode output lacks %s: %v", f, err)
		}
	}
	// The update path is part of the build, so the host's own manifest
	// lists it for sovereign-verify.
	hostManifest := string(rootfsFile(t, res, units.HostManifest))
	for _, want := range []string{" " + update.UpdateScript + "\n", "\nunit " + update.UpdateService + "\n", "\nunit " + update.UpdateTimer + "\n"} {
		if !strings.Contains(hostManifest, want) {
			t.Errorf("the host manifest lacks %q:\n%s", want, hostManifest)
		}
	}

	// The switch unit is Ignition's alone; verify it beside the others.
	var switchUnit string
	for _, u := range bootstrapUnits(t, res, imagePinned) {
		switchUnit = u
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc/systemd/system", update.SwitchService), []byte(switchUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, want := peers.VerifyUnits(t, rootfs), c.wantUnits+extraUnits; n != want {
		t.Errorf("systemd-analyze verified %d units, want %d", n, want)
	}
	os.Remove(filepath.Join(rootfs, "etc/systemd/system", update.SwitchService))

	ign := filepath.Join(out, output.IgnitionFile)
	peers.IgnitionValidate(t, ign)
	fromButane := peers.ButaneTranslate(t, filepath.Join(out, output.ButaneFile), rootfs)
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
		"ConditionPathExists=!/var/lib/sovereign/update/failed/" + hex,
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
func bootstrapUnits(t *testing.T, res *pipeline.Result, imagePinned string) map[string]string {
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

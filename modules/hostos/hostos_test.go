package hostos

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

const base = "quay.io/centos-bootc/centos-bootc@sha256:0000000000000000000000000000000000000000000000000000000000000000"

func blueprint(t *testing.T, hardware string) *spec.Blueprint {
	hw, ok := catalog.LookupHardware(hardware)
	if !ok {
		t.Fatalf("no hardware %s", hardware)
	}
	return &spec.Blueprint{
		Appliance: &spec.Appliance{Name: "coop", Hardware: hw},
		OS: &spec.OS{
			Base:     spec.Image{Ref: "quay.io/centos-bootc/centos-bootc:stream10"},
			Driver:   spec.NVIDIADriver{Version: "580", Branch: 580, Flavour: spec.FlavourOpen},
			Packages: []spec.Package{{Name: "tmux"}, {Name: "nut"}},
		},
	}
}

// Each block adds the packages it needs; the blueprint's own join them,
// sorted and once each.
func TestPackagesFromBlocks(t *testing.T) {
	bp := blueprint(t, "dgx-station-gb300")
	bp.UPS = &spec.UPS{Name: "main"}
	bp.WAN = &spec.WAN{Uplinks: []*spec.Uplink{{Name: "nbn", Type: "ethernet"}, {Name: "5g", Type: "gsm"}}}
	img := Describe(bp, base, Options{ImageBundle: true})
	want := []string{"ModemManager", "NetworkManager-wwan", "dkms", "nut", "nut-client", "nvidia-container-toolkit", "skopeo", "tmux"}
	if diff := cmp.Diff(want, img.PackageNames()); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
	for _, p := range img.Packages {
		if p.Name == "nut" && !strings.HasPrefix(p.Why, "ups main") {
			t.Errorf("nut is there for the ups block first, not %q", p.Why)
		}
	}
	if img.Kernel64K != "kernel-64k" {
		t.Errorf("a 64 KB machine on CentOS Stream bootc gets kernel-64k, got %q", img.Kernel64K)
	}
	if got := Describe(blueprint(t, "h100-80gb-sxm"), base, Options{}); got.Kernel64K != "" || got.Platform != "linux/amd64" {
		t.Errorf("an amd64 host keeps its kernel: %+v", got)
	}
}

func TestRenderDeterministic(t *testing.T) {
	img := Describe(blueprint(t, "dgx-station-gb300"), base, Options{})
	img.KernelArgs = []string{"nvidia-drm.modeset=1"}
	a, err := Render(img)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Render(img)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("two renders differ:\n%s", diff)
	}
	cf := string(a[0].Contents)
	for _, want := range []string{
		"FROM " + base + "\n",
		"install.sh centos-bootc 'rhel%s' kernel-64k 580 open dkms nut nvidia-container-toolkit tmux\n",
		"COPY kargs.toml " + KargsPath + "\n",
		"RUN bootc container lint\n",
	} {
		if !strings.Contains(cf, want) {
			t.Errorf("the Containerfile lacks %q:\n%s", want, cf)
		}
	}
	if !strings.HasSuffix(cf, "RUN bootc container lint\n") {
		t.Error("bootc container lint must be the last step")
	}
}

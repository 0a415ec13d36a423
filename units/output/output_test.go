package output_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/units/output"
)

// TestServiceNaming: Quadlet's generator names services as
// podman-systemd.unit(5) says; plain units keep their name.
func TestServiceNaming(t *testing.T) {
	cases := []struct{ file, service, path string }{
		{"vllm-main.container", "vllm-main.service", "/etc/containers/systemd/vllm-main.container"},
		{"app.kube", "app.service", "/etc/containers/systemd/app.kube"},
		{"models.volume", "models-volume.service", "/etc/containers/systemd/models.volume"},
		{"lan.network", "lan-network.service", "/etc/containers/systemd/lan.network"},
		{"sovereign-verify.timer", "sovereign-verify.timer", "/etc/systemd/system/sovereign-verify.timer"},
		{"sovereign-nvidia-cdi.service", "sovereign-nvidia-cdi.service", "/etc/systemd/system/sovereign-nvidia-cdi.service"},
	}
	for _, c := range cases {
		if got := output.ServiceOf(c.file); got != c.service {
			t.Errorf("ServiceOf(%q) = %q, want %q", c.file, got, c.service)
		}
		if got := output.UnitPath(c.file); got != c.path {
			t.Errorf("UnitPath(%q) = %q, want %q", c.file, got, c.path)
		}
		if got, ok := output.ServiceOfPath(c.path); !ok || got != c.service {
			t.Errorf("ServiceOfPath(%q) = %q, %v", c.path, got, ok)
		}
	}
	for _, p := range []string{"/etc/containers/systemd/sub/x.container", "/etc/nginx/nginx.conf", "/etc/systemd/system-preset/40-x.preset"} {
		if s, ok := output.ServiceOfPath(p); ok {
			t.Errorf("%s is no unit file, got service %q", p, s)
		}
	}
}

func TestPinned(t *testing.T) {
	d := "sha256:" + "ab"
	for ref, want := range map[string]string{
		"registry.example.org/coop/appliance:v1": "registry.example.org/coop/appliance@" + d,
		"registry.example.org/coop/appliance":    "registry.example.org/coop/appliance@" + d,
		"localhost:5000/appliance:v1":            "localhost:5000/appliance@" + d,
		"localhost:5000/appliance":               "localhost:5000/appliance@" + d,
	} {
		if got := output.Pinned(ref, d); got != want {
			t.Errorf("Pinned(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestRestarts: a unit restarts when its file changes, when a path it reads
// or a folder above one changes, and when a unit it needs restarts, down a
// chain; the reasons come in a stable order.
func TestRestarts(t *testing.T) {
	units := []output.UnitFile{
		{Path: "/etc/containers/systemd/gateway.container", Unit: output.Unit{Service: "gateway.service", Reads: []string{"/etc/nginx"}, Needs: []string{"vllm.service"}}},
		{Path: "/etc/containers/systemd/vllm.container", Unit: output.Unit{Service: "vllm.service", Reads: []string{"/etc/sovereign/secrets/vllm.env"}, Needs: []string{"model.service"}}},
		{Path: "/etc/systemd/system/model.service", Unit: output.Unit{Service: "model.service", Reads: []string{"/usr/local/libexec/sovereign/model-weights"}}},
		{Path: "/etc/systemd/system/other.service", Unit: output.Unit{Service: "other.service", Reads: []string{"/etc/nginxx"}}},
	}
	r := output.NewRestarts()
	r.FromChanges(units, map[string]string{
		"/etc/systemd/system/model.service": "changed",
		"/etc/nginx/conf.d/sovereign.conf":  "changed",
		"/etc/nginx/nginx.conf":             "mode",
	})
	r.FollowNeeds(units)
	got := map[string][]string{}
	for _, s := range r.Services() {
		got[s] = r.Why(s)
	}
	want := map[string][]string{
		"model.service":   {"model.service changed"},
		"gateway.service": {"/etc/nginx/conf.d/sovereign.conf changed", "/etc/nginx/nginx.conf mode", "requires vllm.service"},
		"vllm.service":    {"requires model.service"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("restarts (-want +got):\n%s", diff)
	}
}

package llmd_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/spf13/afero"
	"gopkg.in/yaml.v3"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/llmd"
	"github.com/sovereign-collective/sovereign/units"
)

// referenceLLMD is the reference fleet routed by llm-d.
const referenceLLMD = "../../tests/testdata/blueprints/fleet-llmd"

// loadRouter loads the fleet at path and compiles its gateway host's llm-d
// router; it returns the router's files by path, and the gateway.
func loadRouter(t *testing.T, path string) (map[string][]byte, *spec.Gateway, *units.Tree) {
	t.Helper()
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	f, diags := p.LoadFleet(path, lang.Inputs{})
	if diags.HasErrors() {
		t.Fatalf("loading %s: %v", path, diags)
	}
	gwHost := f.GatewayHost.Blueprint
	tree, err := llmd.Compile(gwHost.Fleet, gwHost.Gateway)
	if err != nil || tree == nil {
		t.Fatalf("compiling the router: %v (tree %v)", err, tree)
	}
	files := map[string][]byte{}
	for _, file := range tree.Files {
		files[file.Path] = file.Contents
	}
	return files, gwHost.Gateway, tree
}

// yamlToJSON turns a rendered YAML file into JSON, as the llm-d router
// (sigs.k8s.io/yaml) and Envoy (its YAML loader) read YAML.
func yamlToJSON(t *testing.T, data []byte) []byte {
	t.Helper()
	var v any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("YAML: %v\n%s", err, data)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	return out
}

// TestOtherHostsHaveNoRouter: only the gateway host of a fleet that
// routes with llm-d runs it.
func TestOtherHostsHaveNoRouter(t *testing.T) {
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	for _, path := range []string{referenceLLMD, "../../blueprints/fleet-two-gb300.hcl"} {
		f, diags := p.LoadFleet(path, lang.Inputs{})
		if diags.HasErrors() {
			t.Fatalf("loading %s: %v", path, diags)
		}
		for _, h := range f.Hosts {
			tree, err := llmd.Compile(h.Blueprint.Fleet, h.Blueprint.Gateway)
			want := path == referenceLLMD && h == f.GatewayHost
			if err != nil || (tree != nil) != want {
				t.Errorf("%s host %s: router %v (err %v), want one: %v", path, h.Name, tree != nil, err, want)
			}
		}
	}
}

// TestRouterUnits: a picker per routed engine and one Envoy, which starts
// after the pickers, each on the host network with no privileges.
func TestRouterUnits(t *testing.T) {
	_, _, tree := loadRouter(t, referenceLLMD)
	var names []string
	for _, u := range tree.Units {
		names = append(names, u.Name)
		got := [3][]string{u.Get("Container", "Network"), u.Get("Container", "DropCapability"), u.Get("Container", "NoNewPrivileges")}
		if len(got[0]) != 1 || got[0][0] != "host" || len(got[1]) != 1 || got[1][0] != "all" || len(got[2]) != 1 || got[2][0] != "true" {
			t.Errorf("%s: Network, DropCapability, NoNewPrivileges are %q", u.Name, got)
		}
	}
	want := []string{llmd.PickerUnit("main"), llmd.EnvoyUnit}
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("units %v, want %v", names, want)
	}
	if after := tree.Units[1].Get("Unit", "After"); len(after) != 2 || after[1] != units.ServiceOf(llmd.PickerUnit("main")) {
		t.Errorf("Envoy starts after %v, want its picker too", after)
	}
}

// TestDefaultImagesAppliedOnce fails if the decoder picks the router's
// images (the module would then take them for the blueprint's own) or if
// nobody does: the fleet's spec names none, and the units run the module's
// defaults, pointed at the router setting for the lock's diagnostics.
func TestDefaultImagesAppliedOnce(t *testing.T) {
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	f, diags := p.LoadFleet(referenceLLMD, lang.Inputs{})
	if diags.HasErrors() {
		t.Fatalf("loading: %v", diags)
	}
	if f.EndpointPickerImage.Ref != "" || f.EnvoyImage.Ref != "" {
		t.Errorf("the decoder chose router images %q and %q", f.EndpointPickerImage.Ref, f.EnvoyImage.Ref)
	}
	_, _, tree := loadRouter(t, referenceLLMD)
	refs := map[string]int{}
	for _, img := range tree.Images() {
		refs[img.Ref]++
		if img.Origin != f.RouterRange {
			t.Errorf("image %s points at %v, want the router setting %v", img.Ref, img.Origin, f.RouterRange)
		}
	}
	if refs[llmd.DefaultEnvoyImage] != 1 || refs[llmd.DefaultEndpointPickerImage] < 1 || len(refs) != 2 {
		t.Errorf("router images %v, want one Envoy %s and pickers %s", refs, llmd.DefaultEnvoyImage, llmd.DefaultEndpointPickerImage)
	}
}

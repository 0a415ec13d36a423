package models_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/models"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units"
)

var testApp = &spec.Appliance{Storage: spec.Storage{StateDir: "/var/lib/sovereign", ModelsDir: "/var/lib/sovereign/models"}}

// testModels are one model of each kind the blueprint can describe.
func testModels() []*spec.Model {
	files := map[string]string{
		"config.json":                      strings.Repeat("a", 64),
		"model-00001-of-00002.safetensors": strings.Repeat("b", 64),
		"model-00002-of-00002.safetensors": strings.Repeat("c", 64),
		"original/params.json":             strings.Repeat("d", 64),
	}
	at := func(line int) hcl.Range {
		return hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: line, Column: 1}}
	}
	return []*spec.Model{
		{Name: "fetched", Source: "hf://Qwen/Qwen3-30B-A3B", Revision: "0123456789abcdef0123456789abcdef01234567", Files: files, DeclRange: at(1)},
		{Name: "mirrored", Source: "hf://Qwen/Qwen3-30B-A3B", Revision: "0123456789abcdef0123456789abcdef01234567", Files: files, Mirror: "http://10.0.0.5:8080/models/qwen3%20a3b", DeclRange: at(2)},
		{Name: "gated", Source: "hf://meta-llama/Llama-3.3-70B-Instruct", Revision: "0123456789abcdef0123456789abcdef01234567", Files: files, Token: &spec.Secret{Value: "hf_test"}, DeclRange: at(6)},
		{Name: "staged", Revision: "0123456789abcdef0123456789abcdef01234567", Files: files, DeclRange: at(3)},
		{Name: "unverified", Source: "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ", DeclRange: at(4)},
		{Name: "bare", DeclRange: at(5)},
	}
}

// TestGolden pins every file the module writes, the script apart (it is
// tested by running it). `make golden` rewrites them.
func TestGolden(t *testing.T) {
	tree, diags := units.Merge(models.Compile(testModels(), testApp))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "==> %s (%04o) <==\n", f.Path, f.Mode)
		if f.Path == models.ScriptPath {
			b.WriteString("(modules/models/model-weights.sh)\n\n")
			continue
		}
		b.Write(f.Contents)
		b.WriteString("\n")
	}
	golden.Check(t, filepath.Join("testdata", "units.golden"), []byte(b.String()))
}

// TestEveryModelHasItsUnit: engines require units.ModelService(NAME) for the
// model they serve, so every model gets one, enabled, that stays active.
func TestEveryModelHasItsUnit(t *testing.T) {
	ms := testModels()
	tree, diags := units.Merge(models.Compile(ms, testApp))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	byName := map[string]*units.Unit{}
	for _, u := range tree.Units {
		byName[u.Name] = u
	}
	for _, m := range ms {
		u := byName[units.ModelService(m.Name)]
		if u == nil {
			t.Errorf("model %s has no %s", m.Name, units.ModelService(m.Name))
			continue
		}
		if !u.Enabled || strings.Join(u.Get("Service", "Type"), ",") != "oneshot" || strings.Join(u.Get("Service", "RemainAfterExit"), ",") != "yes" {
			t.Errorf("%s: enabled %v, Type %q, RemainAfterExit %q; want an enabled oneshot that remains active", u.Name, u.Enabled, u.Get("Service", "Type"), u.Get("Service", "RemainAfterExit"))
		}
		// The script writes beside the model folder: staging and record.
		if got := u.Get("Service", "ReadWritePaths"); len(got) != 1 || got[0] != testApp.Storage.ModelsDir {
			t.Errorf("%s: ReadWritePaths %q, want the models folder %s", u.Name, got, testApp.Storage.ModelsDir)
		}
		fetches := strings.Contains(strings.Join(u.Get("Service", "ExecStart"), ""), " fetch ")
		online := strings.Join(u.Get("Unit", "After"), " ") == "network-online.target"
		if fetches != online {
			t.Errorf("%s: fetches %v but ordered after network-online.target %v", u.Name, fetches, online)
		}
	}
	if len(tree.Units) != len(ms) {
		t.Errorf("%d units for %d models", len(tree.Units), len(ms))
	}
}

// TestUnitsVerify runs the units through systemd-analyze verify, with the
// script installed where the units run it.
func TestUnitsVerify(t *testing.T) {
	tree, diags := units.Merge(models.Compile(testModels(), testApp))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	for _, f := range files {
		p := filepath.Join(rootfs, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Contents, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	if n, want := peers.VerifyUnits(t, rootfs), len(testModels()); n != want {
		t.Errorf("systemd-analyze verified %d units, want %d", n, want)
	}
}

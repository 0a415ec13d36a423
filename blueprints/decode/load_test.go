package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// shape is what a folder test checks of a loaded blueprint: which blocks
// came in, from which files.
type shape struct {
	Appliance string
	Hostname  string
	Models    []string // name@file
	Engines   []string // name@file
}

func shapeOf(bp *spec.Blueprint) shape {
	s := shape{Appliance: bp.Appliance.Name + "@" + bp.Appliance.DeclRange.Filename, Hostname: bp.Appliance.Hostname}
	for _, m := range bp.Models {
		s.Models = append(s.Models, m.Name+"@"+m.DeclRange.Filename)
	}
	for _, e := range bp.Engines {
		s.Engines = append(s.Engines, e.Name+"@"+e.DeclRange.Filename)
	}
	return s
}

func TestFolderBlueprints(t *testing.T) {
	const smallModel = `
model "small" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}
`
	const smallEngine = `
engine "vllm" "small" {
  model = model.small
  image = "` + testImage + `"
  port  = 8001
}
`
	// Files that must never be read as part of the blueprint: if they were,
	// they would fail to parse.
	const notHCL = "this is { not a blueprint\n"
	tests := []struct {
		name   string
		files  map[string]string
		target string
		in     lang.Inputs
		want   shape
	}{
		{
			name:   "one file",
			files:  map[string]string{"bp.hcl": testAppliance + testModel + testEngine},
			target: "bp.hcl",
			want:   shape{Appliance: "coop@bp.hcl", Hostname: "coop", Models: []string{"qwen3@bp.hcl"}, Engines: []string{"main@bp.hcl"}},
		},
		{
			name: "a folder's files are merged, and refer to each other",
			files: map[string]string{
				"site/appliance.hcl": testAppliance,
				"site/models.hcl":    testModel + smallModel,
				"site/engines.hcl":   testEngine + smallEngine,
			},
			target: "site",
			want: shape{
				Appliance: "coop@site/appliance.hcl",
				Hostname:  "coop",
				Models:    []string{"qwen3@site/models.hcl", "small@site/models.hcl"},
				Engines:   []string{"main@site/engines.hcl", "small@site/engines.hcl"},
			},
		},
		{
			name: "a trailing slash names the same folder",
			files: map[string]string{
				"site/a.hcl": testAppliance + testModel,
				"site/b.hcl": testEngine,
			},
			target: "site/",
			want:   shape{Appliance: "coop@site/a.hcl", Hostname: "coop", Models: []string{"qwen3@site/a.hcl"}, Engines: []string{"main@site/b.hcl"}},
		},
		{
			name: "lock files, variable files, hidden files, other files and subfolders are not part of it",
			files: map[string]string{
				"site/main.hcl":           testAppliance + testModel + testEngine,
				"site/sovereign.lock.hcl": notHCL,
				"site/prod.vars.hcl":      notHCL,
				"site/.editor-backup.hcl": notHCL,
				"site/README.md":          notHCL,
				"site/main.hcl.orig":      notHCL,
				"site/modules/extra.hcl":  notHCL,
			},
			target: "site",
			want:   shape{Appliance: "coop@site/main.hcl", Hostname: "coop", Models: []string{"qwen3@site/main.hcl"}, Engines: []string{"main@site/main.hcl"}},
		},
		{
			name: "a variable file in the folder is read when given",
			files: map[string]string{
				"site/vars.hcl":      "variable \"hostname\" {\n  default = \"coop\"\n}\n",
				"site/main.hcl":      strings.Replace(testAppliance, `hostname = "coop"`, `hostname = var.hostname`, 1) + testModel + testEngine,
				"site/prod.vars.hcl": `hostname = "prod"`,
			},
			target: "site",
			in:     lang.Inputs{VarFiles: []string{"site/prod.vars.hcl"}},
			want:   shape{Appliance: "coop@site/main.hcl", Hostname: "prod", Models: []string{"qwen3@site/main.hcl"}, Engines: []string{"main@site/main.hcl"}},
		},
		{
			name: "models and engines are sorted by name, whatever the files",
			files: map[string]string{
				"site/1.hcl": testAppliance + smallModel + smallEngine,
				"site/2.hcl": testModel + testEngine,
			},
			target: "site",
			want: shape{
				Appliance: "coop@site/1.hcl",
				Hostname:  "coop",
				Models:    []string{"qwen3@site/2.hcl", "small@site/1.hcl"},
				Engines:   []string{"main@site/2.hcl", "small@site/1.hcl"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := mustLoad(t, tc.files, tc.target, tc.in)
			if diff := cmp.Diff(tc.want, shapeOf(bp)); diff != "" {
				t.Errorf("blueprint mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFolderErrors(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		target string
		want   []string
	}{
		{
			name:   "no such blueprint",
			files:  map[string]string{"bp.hcl": testAppliance},
			target: "nope.hcl",
			want:   []string{"-: Blueprint not found"},
		},
		{
			name:   "a folder with only a lock and a variable file",
			files:  map[string]string{"site/sovereign.lock.hcl": "", "site/x.vars.hcl": ""},
			target: "site",
			want:   []string{"-: Empty blueprint folder"},
		},
		{
			name: "errors in several files are reported together, in file order",
			files: map[string]string{
				"site/b.hcl": testModel + engineWith("  port = 1"),
				"site/a.hcl": applianceWith(`  timezone = "Nowhere"`),
			},
			target: "site",
			want:   []string{"site/a.hcl:6,14: Unknown timezone", "site/b.hcl:10,10: Value out of range"},
		},
		{
			name: "syntax errors in several files are reported together",
			files: map[string]string{
				"site/a.hcl": "appliance \"coop\" {\n",
				"site/b.hcl": "model \"m\" {\n  weights = \n}\n",
			},
			target: "site",
			want:   []string{"site/a.hcl:1,18: Unclosed configuration block", "site/b.hcl:2,13: Invalid expression"},
		},
		{
			name: "a block declared in two files",
			files: map[string]string{
				"site/a.hcl": testAppliance + testModel + testEngine,
				"site/b.hcl": testModel,
			},
			target: "site",
			want:   []string{"site/b.hcl:2,7: Duplicate model"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErrors(t, tc.files, tc.target, lang.Inputs{})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// sharedModule is a module folder the way the reference blueprints use one:
// the engine options a collective wants identical on the audition and on
// its own machine, with the model's size as variables.
var sharedModule = map[string]string{
	"shared/engine.hcl": `
variable "catalog" { type = string }
variable "weights" { type = string }
variable "fraction" {
  type    = number
  default = 0.9
}
locals {
  name = "${var.catalog}-served"
}
model "m" {
  catalog = var.catalog
  weights = var.weights
}
engine "vllm" "main" {
  model                  = model.m
  image                  = "` + testImage + `"
  served_model_name      = local.name
  gpu_memory_utilization = var.fraction
  kv_cache_dtype         = "fp8"
  # file() reads relative to the module's own folder.
  tool_call_parser = trimspace(file("parser.txt"))
}
`,
	"shared/parser.txt": "hermes\n",
}

func withModule(root string) map[string]string {
	files := map[string]string{"bp.hcl": root}
	for k, v := range sharedModule {
		files[k] = v
	}
	return files
}

func TestModuleSharesBlocks(t *testing.T) {
	bp := mustLoad(t, withModule(testAppliance+`
variable "size" {
  type    = string
  default = "qwen3-30b-a3b"
}
module "collective" {
  source   = "./shared"
  catalog  = var.size
  weights  = "fp8"
  fraction = 0.5
}
`), "bp.hcl", lang.Inputs{Vars: []lang.VarSetting{{Name: "size", Value: "qwen3-235b-a22b"}}})
	if len(bp.Engines) != 1 || len(bp.Models) != 1 {
		t.Fatalf("want the module's model and engine, got %d models, %d engines", len(bp.Models), len(bp.Engines))
	}
	eng := bp.Engines[0]
	got := []any{eng.Model.Architecture.Name, eng.MemoryFraction, eng.ServedModelName, eng.ToolCallParser, eng.DeclRange.Filename}
	want := []any{"qwen3-235b-a22b", 0.5, "qwen3-235b-a22b-served", "hermes", "shared/engine.hcl"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("engine from the module (-want +got):\n%s", diff)
	}
}

func TestModuleErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "argument the module has no variable for",
			files: withModule(testAppliance + `
module "c" {
  source  = "./shared"
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
  colour  = "blue"
}
`),
			want: []string{"bp.hcl:15,3: Unsupported argument"},
		},
		{
			name: "required variable not given",
			files: withModule(testAppliance + `
module "c" {
  source  = "./shared"
  catalog = "qwen3-30b-a3b"
}
`),
			want: []string{"bp.hcl:11,1: Missing required argument"},
		},
		{
			name: "remote source",
			files: withModule(testAppliance + `
module "c" {
  source = "github.com/example/collective"
}
`),
			want: []string{"bp.hcl:12,12: Invalid module source"},
		},
		{
			name: "module calls itself",
			files: map[string]string{
				"bp.hcl":        testAppliance + "module \"a\" {\n  source = \"./loop\"\n}\n",
				"loop/loop.hcl": "module \"again\" {\n  source = \"./\"\n}\n",
			},
			want: []string{"loop/loop.hcl:2,12: Module calls itself"},
		},
		{
			name: "appliance inside a module",
			files: map[string]string{
				"bp.hcl":  testAppliance + "module \"a\" {\n  source = \"./m\"\n}\n",
				"m/m.hcl": testAppliance,
			},
			want: []string{"m/m.hcl:2,1: Appliance block in a module"},
		},
		{
			name: "a module does not see the caller's variables",
			files: map[string]string{
				"bp.hcl":  testAppliance + "variable \"x\" {\n  default = \"h\"\n}\nmodule \"a\" {\n  source = \"./m\"\n}\n",
				"m/m.hcl": testModel + "engine \"vllm\" \"e\" {\n  model = model.qwen3\n  image = \"" + testImage + "\"\n  tool_call_parser = var.x\n}\n",
			},
			want: []string{"m/m.hcl:9,22: Reference to undeclared variable"},
		},
		{
			name: "same engine name in the blueprint and the module",
			files: withModule(testAppliance + testModel + testEngine + `
module "c" {
  source  = "./shared"
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}
`),
			// At the module block that brings the second engine in.
			want: []string{"bp.hcl:21,1: Duplicate engine"},
		},
		{
			name: "one module called twice: the error names both module blocks",
			files: withModule(testAppliance + `
module "a" {
  source  = "./shared"
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}
module "b" {
  source  = "./shared"
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}
`),
			want: []string{"bp.hcl:16,1: Duplicate model", "bp.hcl:16,1: Duplicate engine"},
		},
		{
			name:  "a module source that does not exist: one error at source",
			files: map[string]string{"bp.hcl": testAppliance + "module \"m\" {\n  source = \"./nowhere\"\n}\n"},
			want:  []string{"bp.hcl:11,12: Invalid module source"},
		},
		{
			name:  "a module source that is a file",
			files: map[string]string{"bp.hcl": testAppliance + "module \"m\" {\n  source = \"./x.hcl\"\n}\n", "x.hcl": "# a file\n"},
			want:  []string{"bp.hcl:11,12: Invalid module source"},
		},
		{
			name:  "an empty module folder",
			files: map[string]string{"bp.hcl": testAppliance + "module \"m\" {\n  source = \"./empty\"\n}\n", "empty/README.md": "nothing here\n"},
			want:  []string{"bp.hcl:11,12: Invalid module source"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErrors(t, tc.files, "bp.hcl", lang.Inputs{})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVLLMOffloadNeedsARecentRelease(t *testing.T) {
	old := strings.Replace(testEngine, "v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd", "v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c", 1)
	old = strings.Replace(old, "\n}\n", "\n  cpu_kv_offload = \"64GiB\"\n}\n", 1)
	got := loadErrors(t, map[string]string{"bp.hcl": testAppliance + testModel + old}, "bp.hcl", lang.Inputs{})
	if diff := cmp.Diff([]string{"bp.hcl:19,20: Engine release too old for cpu_kv_offload"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	mustLoad(t, map[string]string{"bp.hcl": testAppliance + testModel + engineWith(`  cpu_kv_offload = "64GiB"`)}, "bp.hcl", lang.Inputs{})
}

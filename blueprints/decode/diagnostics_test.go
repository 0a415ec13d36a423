package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// TestLoadErrors checks that each mistake gives exactly its own error, at its
// own place: no follow-on errors that repeat it, and no error without a file
// and line (the CLI prints those without a source snippet, and a user cannot
// tell where to look).
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		in    lang.Inputs
		want  []string
	}{
		{
			name: "missing weights is one error",
			files: map[string]string{"bp.hcl": testAppliance + `
model "qwen3" {
  catalog = "qwen3-235b-a22b"
}
` + testEngine},
			want: []string{"bp.hcl:11,15: Missing required argument"},
		},
		{
			name: "weights of the wrong type is one error",
			files: map[string]string{"bp.hcl": testAppliance + `
model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = ["awq-int4"]
}
` + testEngine},
			want: []string{"bp.hcl:13,13: Incorrect attribute value type"},
		},
		{
			name: "state outside /var is not reported again for the models folder under it",
			files: map[string]string{"bp.hcl": applianceWith(`  storage {
    state = "/srv/sovereign"
  }`) + testModel + testEngine},
			want: []string{"bp.hcl:7,13: Invalid data folder"},
		},
		{
			name: "models outside /var",
			files: map[string]string{"bp.hcl": applianceWith(`  storage {
    models = "/opt/models"
  }`) + testModel + testEngine},
			want: []string{"bp.hcl:7,14: Invalid data folder"},
		},
		{
			name:  "a root admin is not also a missing admin",
			files: map[string]string{"bp.hcl": strings.Replace(testAppliance, `admin "ops"`, `admin "root"`, 1) + testModel + testEngine},
			want:  []string{"bp.hcl:6,9: Root cannot be an admin"},
		},
		{
			name: "no admin block at all",
			files: map[string]string{"bp.hcl": `
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"
}
` + testModel + testEngine},
			want: []string{"bp.hcl:2,1: No admin"},
		},
		{
			name: "a private key file is one error, whatever its length",
			files: map[string]string{
				"bp.hcl": strings.Replace(testAppliance, `["`+testKey+`"]`, `[file("id_ed25519")]`, 1) + testModel + testEngine,
				"id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
					"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
					"QyNTUxOQAAACBPLACEHOLDERPLACEHOLDERPLACEHOLDERPLACEHOLDERAAAAAAAAAAAAAA\n" +
					"-----END OPENSSH PRIVATE KEY-----\n",
			},
			want: []string{"bp.hcl:7,27: Private key instead of public key"},
		},
		{
			name:  "no appliance points at the blueprint",
			files: map[string]string{"bp.hcl": testModel + testEngine},
			want:  []string{"bp.hcl:1,1: No appliance block"},
		},
		{
			name: "no appliance in a folder points at its first file",
			files: map[string]string{
				"site/b.hcl": testEngine,
				"site/a.hcl": testModel,
			},
			want: []string{"site/a.hcl:1,1: No appliance block"},
		},
		{
			name: "-var of the wrong type has no place in a file",
			files: map[string]string{"bp.hcl": `
variable "port" {
  type = number
}
` + testAppliance + testModel + engineWith("  port = var.port")},
			in:   lang.Inputs{Vars: []lang.VarSetting{{Name: "port", Value: "eighty"}}},
			want: []string{"-: Invalid value for variable"},
		},
		{
			name: "SOVEREIGN_VAR_ of the wrong type has no place in a file",
			files: map[string]string{"bp.hcl": `
variable "caching" {
  type    = bool
  default = true
}
` + testAppliance + testModel + engineWith("  enable_prefix_caching = var.caching")},
			in:   lang.Inputs{Env: []string{"SOVEREIGN_VAR_caching=sometimes"}},
			want: []string{"-: Invalid value for variable"},
		},
		{
			name: "-var that is not a list",
			files: map[string]string{"bp.hcl": `
variable "groups" {
  type    = list(string)
  default = []
}
` + testAppliance + testModel + testEngine},
			in:   lang.Inputs{Vars: []lang.VarSetting{{Name: "groups", Value: "[sudo"}}},
			want: []string{"-: Invalid value for variable"},
		},
		{
			name:  "-var for an undeclared variable has no place in a file",
			files: map[string]string{"bp.hcl": testAppliance + testModel + testEngine},
			in:    lang.Inputs{Vars: []lang.VarSetting{{Name: "hostname", Value: "x"}}},
			want:  []string{"-: Value for undeclared variable"},
		},
		{
			name: "every error in an engine at once",
			files: map[string]string{"bp.hcl": testAppliance + testModel + engineWith(`  port                   = 80
  start_timeout          = "soon"
  gpu_memory_utilization = 2
  tensor_parallel_size   = 2
  cpu_kv_offload         = "1"`)},
			want: []string{
				"bp.hcl:19,28: Value out of range",
				"bp.hcl:20,28: Invalid duration",
				"bp.hcl:21,28: Value out of range",
				"bp.hcl:22,28: Not enough GPUs",
				"bp.hcl:23,28: Invalid size",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "bp.hcl"
			if _, ok := tc.files[target]; !ok {
				target = "site"
			}
			got := loadErrors(t, tc.files, target, tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines/vllm"
)

// settings is the part of a loaded blueprint that variable tests look at.
type settings struct {
	Hostname      string
	Timezone      string
	Groups        []string
	Port          int
	PrefixCaching bool
	MaxModelLen   int
	KVCacheDType  string
	Environment   map[string]string
	ExtraArgs     []string
	APIKey        string
}

func settingsOf(bp *spec.Blueprint) settings {
	app, eng := bp.Appliance, bp.Engines[0]
	s := settings{
		Hostname:      app.Hostname,
		Timezone:      app.Timezone,
		Groups:        app.Admins[0].Groups,
		Port:          eng.Port,
		PrefixCaching: vllm.Own(eng).EnablePrefixCaching,
		MaxModelLen:   eng.MaxModelLen,
		KVCacheDType:  eng.KVCacheDType,
		Environment:   eng.Environment,
		ExtraArgs:     eng.ExtraArgs,
	}
	if eng.APIKey != nil {
		s.APIKey = eng.APIKey.Value
	}
	return s
}

// defaults is what settingsOf gives for testAppliance + testModel + testEngine.
var defaults = settings{
	Hostname:      "coop",
	Timezone:      "UTC",
	Groups:        []string{"sudo", "wheel"},
	Port:          8000,
	PrefixCaching: true,
	KVCacheDType:  "auto",
}

// with returns defaults changed by f.
func with(f func(*settings)) settings {
	s := defaults
	f(&s)
	return s
}

func TestVariablePrecedence(t *testing.T) {
	// Each source sets the hostname to its own name: the one that wins shows.
	files := map[string]string{
		"bp.hcl": `
variable "hostname" {
  type    = string
  default = "from-default"
}
` + strings.Replace(testAppliance, `hostname = "coop"`, `hostname = var.hostname`, 1) + testModel + testEngine,
		"a.vars.hcl": `hostname = "from-file-a"`,
		"b.vars.hcl": `hostname = "from-file-b"`,
	}
	env := []string{"SOVEREIGN_VAR_hostname=from-env"}
	flag := func(v string) []lang.VarSetting {
		return []lang.VarSetting{{Name: "hostname", Value: v}}
	}
	tests := []struct {
		name string
		in   lang.Inputs
		want string
	}{
		{name: "default", want: "from-default"},
		{name: "environment beats default", in: lang.Inputs{Env: env}, want: "from-env"},
		{name: "var file beats environment", in: lang.Inputs{Env: env, VarFiles: []string{"a.vars.hcl"}}, want: "from-file-a"},
		{name: "-var beats var file", in: lang.Inputs{Env: env, VarFiles: []string{"a.vars.hcl"}, Vars: flag("from-flag")}, want: "from-flag"},
		{name: "-var beats environment", in: lang.Inputs{Env: env, Vars: flag("from-flag")}, want: "from-flag"},
		{name: "later var file wins", in: lang.Inputs{VarFiles: []string{"a.vars.hcl", "b.vars.hcl"}}, want: "from-file-b"},
		{name: "later var file wins in either order", in: lang.Inputs{VarFiles: []string{"b.vars.hcl", "a.vars.hcl"}}, want: "from-file-a"},
		{name: "later -var wins", in: lang.Inputs{Vars: append(flag("from-flag-1"), flag("from-flag-2")...)}, want: "from-flag-2"},
		{name: "environment without the prefix is ignored", in: lang.Inputs{Env: []string{"hostname=from-env", "SOVEREIGN_VAR_HOSTNAME=from-env"}}, want: "from-default"},
		{name: "unrelated SOVEREIGN_VAR_ is ignored", in: lang.Inputs{Env: []string{"SOVEREIGN_VAR_other=x"}}, want: "from-default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := mustLoad(t, files, "bp.hcl", tc.in)
			if diff := cmp.Diff(tc.want, bp.Appliance.Hostname); diff != "" {
				t.Errorf("hostname mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// typedBlueprint declares one variable of each kind and uses each in a
// setting of the matching type.
const typedBlueprint = `
variable "port" {
  type    = number
  default = 8000
}
variable "caching" {
  type    = bool
  default = true
}
variable "groups" {
  type    = list(string)
  default = ["sudo", "wheel"]
}
variable "env" {
  type    = map(string)
  default = {}
}
variable "context" {
  type = object({
    len   = number
    dtype = optional(string, "fp8")
  })
  default = { len = 4096 }
}
variable "args" {
  type    = list(string)
  default = []
}

appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["` + testKey + `"]
    groups              = var.groups
  }
}
` + testModel + `
engine "vllm" "main" {
  model = model.qwen3
  image = "` + testImage + `"

  port                  = var.port
  enable_prefix_caching = var.caching
  environment           = var.env
  max_model_len         = var.context.len
  kv_cache_dtype        = var.context.dtype
  extra_args            = var.args
}
`

func TestVariableTypeConversion(t *testing.T) {
	files := map[string]string{
		"bp.hcl": typedBlueprint,
		"typed.vars.hcl": `
port    = 9000
caching = false
groups  = ["sudo"]
env     = { HF_HUB_ENABLE_HF_TRANSFER = "1" }
context = { len = 8192, dtype = "auto" }
`,
	}
	vars := func(kv ...string) lang.Inputs {
		var in lang.Inputs
		for i := 0; i < len(kv); i += 2 {
			in.Vars = append(in.Vars, lang.VarSetting{Name: kv[i], Value: kv[i+1]})
		}
		return in
	}
	byDefault := with(func(s *settings) { s.MaxModelLen = 4096; s.KVCacheDType = "fp8" })
	tests := []struct {
		name string
		in   lang.Inputs
		want settings
	}{
		{name: "defaults, with an optional attribute's default", want: byDefault},
		{name: "number from -var", in: vars("port", "9000"), want: with(func(s *settings) { *s = byDefault; s.Port = 9000 })},
		{name: "bool from -var", in: vars("caching", "false"), want: with(func(s *settings) { *s = byDefault; s.PrefixCaching = false })},
		{name: "list from -var", in: vars("groups", `["sudo", "video"]`), want: with(func(s *settings) { *s = byDefault; s.Groups = []string{"sudo", "video"} })},
		{name: "map from -var", in: vars("env", `{ VLLM_LOGGING_LEVEL = "DEBUG" }`), want: with(func(s *settings) {
			*s = byDefault
			s.Environment = map[string]string{"VLLM_LOGGING_LEVEL": "DEBUG"}
		})},
		{name: "object from -var, optional attribute defaulted", in: vars("context", `{ len = 32768 }`), want: with(func(s *settings) {
			*s = byDefault
			s.MaxModelLen = 32768
		})},
		{name: "number converts to a string list element", in: vars("args", `["--seed", 42]`), want: with(func(s *settings) {
			*s = byDefault
			s.ExtraArgs = []string{"--seed", "42"}
		})},
		{name: "number from the environment", in: lang.Inputs{Env: []string{"SOVEREIGN_VAR_port=8080"}}, want: with(func(s *settings) { *s = byDefault; s.Port = 8080 })},
		{name: "every type from a var file", in: lang.Inputs{VarFiles: []string{"typed.vars.hcl"}}, want: with(func(s *settings) {
			*s = byDefault
			s.Port, s.PrefixCaching, s.Groups = 9000, false, []string{"sudo"}
			s.Environment = map[string]string{"HF_HUB_ENABLE_HF_TRANSFER": "1"}
			s.MaxModelLen, s.KVCacheDType = 8192, "auto"
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := mustLoad(t, files, "bp.hcl", tc.in)
			if diff := cmp.Diff(tc.want, settingsOf(bp), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("settings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		in    lang.Inputs
		want  []string
	}{
		{
			name:  "-var number that is not one",
			files: map[string]string{"bp.hcl": typedBlueprint},
			in:    lang.Inputs{Vars: []lang.VarSetting{{Name: "port", Value: "eighty"}}},
			want:  []string{"-: Invalid value for variable"},
		},
		{
			name:  "-var object missing a required attribute",
			files: map[string]string{"bp.hcl": typedBlueprint},
			in:    lang.Inputs{Vars: []lang.VarSetting{{Name: "context", Value: `{ dtype = "auto" }`}}},
			want:  []string{"bp.hcl:18,1: Invalid value for variable"},
		},
		{
			name: "var file value of the wrong type",
			files: map[string]string{
				"bp.hcl":     typedBlueprint,
				"x.vars.hcl": "\ncaching = \"sometimes\"\n",
			},
			in:   lang.Inputs{VarFiles: []string{"x.vars.hcl"}},
			want: []string{"x.vars.hcl:2,11: Invalid value for variable"},
		},
		{
			name: "var file naming an undeclared variable",
			files: map[string]string{
				"bp.hcl":     typedBlueprint,
				"x.vars.hcl": "prot = 8080\n",
			},
			in:   lang.Inputs{VarFiles: []string{"x.vars.hcl"}},
			want: []string{"x.vars.hcl:1,1: Value for undeclared variable"},
		},
		{
			name: "var file holding a computation over variables",
			files: map[string]string{
				"bp.hcl":     typedBlueprint,
				"x.vars.hcl": "port = var.port + 1\n",
			},
			in:   lang.Inputs{VarFiles: []string{"x.vars.hcl"}},
			want: []string{"x.vars.hcl:1,8: Variables not allowed"},
		},
		{
			name:  "missing var file",
			files: map[string]string{"bp.hcl": typedBlueprint},
			in:    lang.Inputs{VarFiles: []string{"nope.vars.hcl"}},
			want:  []string{"-: Failed to read file"},
		},
		{
			name: "required variable without a value",
			files: map[string]string{"bp.hcl": `
variable "hostname" {
  type = string
}
` + testAppliance + testModel + testEngine},
			want: []string{"bp.hcl:2,1: No value for required variable"},
		},
		{
			name: "default of the wrong type",
			files: map[string]string{"bp.hcl": `
variable "port" {
  type    = number
  default = "eighty"
}
` + testAppliance + testModel + testEngine},
			want: []string{"bp.hcl:4,13: Invalid default value for variable"},
		},
		{
			name: "unknown type",
			files: map[string]string{"bp.hcl": `
variable "port" {
  type    = integer
  default = 8000
}
` + testAppliance + testModel + testEngine},
			want: []string{"bp.hcl:3,13: Invalid type specification"},
		},
		{
			name: "two variables with one name",
			files: map[string]string{"bp.hcl": `
variable "port" { default = 8000 }
variable "port" { default = 8001 }
` + testAppliance + testModel + testEngine},
			want: []string{"bp.hcl:3,1: Duplicate variable"},
		},
		{
			name: "unknown argument in a variable",
			files: map[string]string{"bp.hcl": `
variable "port" {
  typ     = number
  default = 8000
}
` + testAppliance + testModel + testEngine},
			want: []string{"bp.hcl:3,3: Unsupported argument"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErrors(t, tc.files, "bp.hcl", tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSensitiveVariables(t *testing.T) {
	decl := `
variable "key" {
  type      = string
  default   = "sk-from-default"
  sensitive = true
}
variable "plain" {
  type    = string
  default = "sk-plain"
}
`
	tests := []struct {
		name       string
		engine     string
		appliance  string
		in         lang.Inputs
		wantKey    string
		wantErrors []string
	}{
		{name: "a sensitive variable is a secret", engine: `  api_key = var.key`, wantKey: "sk-from-default"},
		{name: "its -var value is a secret too", engine: `  api_key = var.key`, in: lang.Inputs{Vars: []lang.VarSetting{{Name: "key", Value: "sk-from-flag"}}}, wantKey: "sk-from-flag"},
		{name: "its environment value is a secret too", engine: `  api_key = var.key`, in: lang.Inputs{Env: []string{"SOVEREIGN_VAR_key=sk-from-env"}}, wantKey: "sk-from-env"},
		{name: "a string built from a secret is a secret", engine: `  api_key = "Bearer ${var.key}"`, wantKey: "Bearer sk-from-default"},
		{name: "a secret through a local is a secret", engine: `  api_key = local.key`, wantKey: "sk-from-default"},
		{
			name:       "a plain variable is not a secret",
			engine:     `  api_key = var.plain`,
			wantErrors: []string{"bp.hcl:34,13: Secret given as a literal"},
		},
		{
			name:       "a secret cannot be a plain setting",
			appliance:  `  timezone = var.key`,
			wantErrors: []string{"bp.hcl:19,14: Secret in a plain setting"},
		},
		{
			name:       "a secret in a list is still a secret",
			engine:     `  extra_args = ["--api-key", var.key]`,
			wantErrors: []string{"bp.hcl:34,16: Secret in a plain setting"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"bp.hcl": decl + "locals {\n  key = var.key\n}\n" + applianceWith(tc.appliance) + testModel + engineWith(tc.engine)}
			if tc.wantErrors != nil {
				got := loadErrors(t, files, "bp.hcl", tc.in)
				if diff := cmp.Diff(tc.wantErrors, got); diff != "" {
					t.Errorf("errors mismatch (-want +got):\n%s", diff)
				}
				return
			}
			bp := mustLoad(t, files, "bp.hcl", tc.in)
			if bp.Engines[0].APIKey == nil {
				t.Fatalf("api_key was not set")
			}
			if diff := cmp.Diff(tc.wantKey, bp.Engines[0].APIKey.Value); diff != "" {
				t.Errorf("api_key mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVariableValidation(t *testing.T) {
	decl := func(validations string) string {
		return `
variable "hostname" {
  type    = string
  default = "coop"
` + validations + `
}
` + strings.Replace(testAppliance, `hostname = "coop"`, `hostname = var.hostname`, 1) + testModel + testEngine
	}
	const short = `
  validation {
    condition     = length(var.hostname) <= 8
    error_message = "Keep the hostname short."
  }`
	const noLocal = `
  validation {
    condition     = length(regexall("[.]local$", var.hostname)) == 0
    error_message = "The .local domain belongs to mDNS."
  }`
	tests := []struct {
		name        string
		validations string
		in          lang.Inputs
		wantErrors  []string
		wantDetails []string
	}{
		{name: "passes", validations: short + noLocal},
		{
			name:        "a -var value fails",
			validations: short,
			in:          lang.Inputs{Vars: []lang.VarSetting{{Name: "hostname", Value: "sovereign-coop"}}},
			wantErrors:  []string{"bp.hcl:7,21: Invalid value for variable"},
			wantDetails: []string{"var.hostname: Keep the hostname short.\n\nThis was checked by the validation rule at bp.hcl:7,21-46."},
		},
		{
			name:        "every failing rule is reported",
			validations: short + noLocal,
			in:          lang.Inputs{Vars: []lang.VarSetting{{Name: "hostname", Value: "sovereign.local"}}},
			wantErrors:  []string{"bp.hcl:7,21: Invalid value for variable", "bp.hcl:11,21: Invalid value for variable"},
		},
		{
			name: "a rule may only look at its own variable",
			validations: `
  validation {
    condition     = var.hostname != var.other
    error_message = "Different."
  }`,
			wantErrors: []string{"bp.hcl:7,37: Invalid reference in variable validation"},
		},
		{
			name: "a condition must be a bool",
			validations: `
  validation {
    condition     = var.hostname
    error_message = "Hm."
  }`,
			wantErrors: []string{"bp.hcl:7,21: Invalid validation condition"},
		},
		{
			name: "a rule needs its error message",
			validations: `
  validation {
    condition = true
  }`,
			wantErrors: []string{"bp.hcl:6,14: Missing required argument"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"bp.hcl": decl(tc.validations)}
			if tc.wantErrors == nil {
				mustLoad(t, files, "bp.hcl", tc.in)
				return
			}
			p := testParser(t, files)
			_, diags := p.Load("bp.hcl", tc.in)
			if diff := cmp.Diff(tc.wantErrors, errorList(diags)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if tc.wantDetails != nil {
				if diff := cmp.Diff(tc.wantDetails, errorDetails(diags)); diff != "" {
					t.Errorf("details mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

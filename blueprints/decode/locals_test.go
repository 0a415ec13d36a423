package decode_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// localsBlueprint is the test blueprint with locals added and the hostname
// set to local.hostname.
func localsBlueprint(locals string) string {
	return locals + strings.Replace(testAppliance, `hostname = "coop"`, `hostname = local.hostname`, 1) + testModel + testEngine
}

func TestLocalsOrder(t *testing.T) {
	tests := []struct {
		name   string
		locals string
		want   string
	}{
		{
			name: "each local after the ones it uses, whatever the written order",
			locals: `
locals {
  hostname = "${local.site}-${local.role}-${local.index}"
  index    = local.base + 1
  base     = 40
  role     = lower(local.ROLE)
}
locals {
  ROLE = "GPU"
  site = var.site
}
variable "site" {
  default = "coop"
}
`,
			want: "coop-gpu-41",
		},
		{
			name: "a long chain",
			locals: `
locals {
  hostname = local.a
  a        = local.b
  b        = local.c
  c        = local.d
  d        = "deep"
}
`,
			want: "deep",
		},
		{
			name: "functions of locals",
			locals: `
locals {
  parts    = ["coop", "node"]
  hostname = join("-", local.parts)
}
`,
			want: "coop-node",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := mustLoad(t, map[string]string{"bp.hcl": localsBlueprint(tc.locals)}, "bp.hcl", lang.Inputs{})
			if diff := cmp.Diff(tc.want, bp.Appliance.Hostname); diff != "" {
				t.Errorf("hostname mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocalsCycle(t *testing.T) {
	tests := []struct {
		name   string
		locals string
		// cycle is every local in the loop, in the order the message names
		// them, starting and ending with the one the error points at.
		cycle  []string
		notIn  []string
		wantAt string
	}{
		{
			name: "three locals",
			locals: `
locals {
  hostname = local.a
  a        = "${local.b}-x"
  b        = local.c
}
locals {
  c = upper(local.a)
}
`,
			cycle:  []string{"a", "b", "c", "a"},
			notIn:  []string{"hostname"},
			wantAt: "bp.hcl:4,3",
		},
		{
			name: "a local that uses itself",
			locals: `
locals {
  hostname = local.hostname
}
`,
			cycle:  []string{"hostname", "hostname"},
			wantAt: "bp.hcl:3,3",
		},
		{
			name: "two locals, and an innocent one",
			locals: `
locals {
  x        = local.y
  y        = [local.x]
  hostname = "coop"
}
`,
			cycle:  []string{"x", "y", "x"},
			notIn:  []string{"hostname"},
			wantAt: "bp.hcl:3,3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testParser(t, map[string]string{"bp.hcl": localsBlueprint(tc.locals)})
			_, diags := p.Load("bp.hcl", lang.Inputs{})
			if diff := cmp.Diff([]string{tc.wantAt + ": Cycle in local values"}, errorList(diags)); diff != "" {
				t.Fatalf("errors mismatch (-want +got):\n%s", diff)
			}
			detail := diags[0].Detail
			var named []string
			for _, part := range strings.Split(detail, " → ") {
				i := strings.Index(part, "local.")
				j := strings.Index(part, " (")
				if i < 0 || j < i {
					t.Fatalf("cannot read the cycle from %q", detail)
				}
				named = append(named, part[i+len("local."):j])
			}
			if diff := cmp.Diff(tc.cycle, named); diff != "" {
				t.Errorf("locals named in the cycle mismatch (-want +got):\n%s\ndetail: %s", diff, detail)
			}
			for _, n := range tc.notIn {
				if strings.Contains(detail, "local."+n+" ") {
					t.Errorf("the cycle names local.%s, which is not in it: %s", n, detail)
				}
			}
			// Each local is named with where it is declared.
			for _, n := range tc.cycle {
				if !strings.Contains(detail, fmt.Sprintf("local.%s (bp.hcl:", n)) {
					t.Errorf("local.%s is named without its place: %s", n, detail)
				}
			}
		})
	}
}

func TestLocalsErrors(t *testing.T) {
	tests := []struct {
		name    string
		locals  string
		want    []string
		wantHas string // a phrase the first error's detail must contain
	}{
		{
			name: "undeclared local in a local",
			locals: `
locals {
  hostname = local.hostnme
  site     = "x"
}
`,
			want:    []string{"bp.hcl:3,14: Reference to undeclared local value"},
			wantHas: `Did you mean "hostname"?`,
		},
		{
			name: "the same local in two blocks",
			locals: `
locals {
  hostname = "a"
}
locals {
  hostname = "b"
}
`,
			want: []string{"bp.hcl:6,3: Duplicate local value"},
		},
		{
			name: "the same local twice in a block",
			locals: `
locals {
  hostname = "a"
  hostname = "b"
}
`,
			want: []string{"bp.hcl:4,3: Attribute redefined"},
		},
		{
			name: "a block inside locals",
			locals: `
locals {
  hostname = "a"
  nested {
  }
}
`,
			want: []string{"bp.hcl:4,3: Unexpected \"nested\" block"},
		},
		{
			name: "a local whose value fails",
			locals: `
locals {
  hostname = upper(42, 43)
}
`,
			want: []string{"bp.hcl:3,24: Too many function arguments"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testParser(t, map[string]string{"bp.hcl": localsBlueprint(tc.locals)})
			_, diags := p.Load("bp.hcl", lang.Inputs{})
			if diff := cmp.Diff(tc.want, errorList(diags)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if tc.wantHas != "" && (len(diags) == 0 || !strings.Contains(diags[0].Detail, tc.wantHas)) {
				t.Errorf("the first error does not say %q: %v", tc.wantHas, diags)
			}
		})
	}
}

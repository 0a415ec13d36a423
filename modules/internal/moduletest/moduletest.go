// Package moduletest is what the modules' tests share to load a block as
// `sovereign build` does and to read the errors a module reports.
package moduletest

import (
	"fmt"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// ApplianceHCL is the smallest appliance a block can sit in: lines 1–8, so
// a block after it starts on line 10.
const ApplianceHCL = `appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

`

// Load decodes ApplianceHCL + block from bp.hcl as `sovereign build` does,
// failing the test on a loading error: the checks under test are a
// module's, not the decoder's.
func Load(t testing.TB, block string) *spec.Blueprint {
	t.Helper()
	fsys := afero.NewMemMapFs()
	if err := afero.WriteFile(fsys, "bp.hcl", []byte(ApplianceHCL+block), 0o644); err != nil {
		t.Fatal(err)
	}
	bp, diags := decode.NewLoader(fsys, engines.Kinds).Load("bp.hcl", lang.Inputs{})
	if diags.HasErrors() {
		t.Fatalf("loading failed: %s", diags.Error())
	}
	return bp
}

// ErrorList is diags' errors as "FILE:LINE,COL: Summary".
func ErrorList(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil {
			out = append(out, fmt.Sprintf("%s:%d,%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
		}
	}
	return out
}

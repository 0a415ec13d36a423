package decode_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// Fixture pieces: a blueprint that loads cleanly is testAppliance +
// testModel + testEngine. Tests replace one piece to change one thing.
const (
	testKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"
	testImage = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"

	testAppliance = `
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["` + testKey + `"]
  }
}
`
	testModel = `
model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = "awq-int4"
}
`
	testEngine = `
engine "vllm" "main" {
  model = model.qwen3
  image = "` + testImage + `"
}
`
)

// applianceWith is testAppliance with body added to the appliance block.
func applianceWith(body string) string {
	return strings.Replace(testAppliance, "  admin \"ops\"", body+"\n\n  admin \"ops\"", 1)
}

// engineWith is testEngine with body added to the engine block.
func engineWith(body string) string {
	return strings.Replace(testEngine, "\n}\n", "\n"+body+"\n}\n", 1)
}

// testParser returns a parser over an in-memory filesystem holding files, as
// Terraform's configs tests do.
func testParser(t testing.TB, files map[string]string) *decode.Loader {
	t.Helper()
	return decode.NewLoader(testFs(t, files), engines.Kinds)
}

func testFs(t testing.TB, files map[string]string) afero.Fs {
	t.Helper()
	fsys := afero.NewMemMapFs()
	for name, src := range files {
		if err := afero.WriteFile(fsys, name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fsys
}

// mustLoad loads target and fails the test on any error diagnostic.
func mustLoad(t *testing.T, files map[string]string, target string, in lang.Inputs) *spec.Blueprint {
	t.Helper()
	p := testParser(t, files)
	bp, diags := p.Load(target, in)
	if diags.HasErrors() {
		t.Fatalf("Load(%q) failed:\n%s", target, formatDiags(p, diags))
	}
	if bp == nil {
		t.Fatalf("Load(%q) returned no blueprint and no errors", target)
	}
	return bp
}

// loadErrors loads target, which must fail, and returns its errors as
// "FILE:LINE,COL: Summary" (or "-: Summary" without a subject), in the order
// they were reported. Comparing these lists checks what and where, the way
// Terraform's error fixtures map lines to summaries.
func loadErrors(t *testing.T, files map[string]string, target string, in lang.Inputs) []string {
	t.Helper()
	p := testParser(t, files)
	bp, diags := p.Load(target, in)
	if !diags.HasErrors() {
		t.Fatalf("Load(%q) succeeded; want errors", target)
	}
	if bp != nil {
		t.Errorf("Load(%q) returned a blueprint along with errors", target)
	}
	return errorList(diags)
}

func errorList(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := "-"
		if s := d.Subject; s != nil {
			where = fmt.Sprintf("%s:%d,%d", s.Filename, s.Start.Line, s.Start.Column)
		}
		out = append(out, where+": "+d.Summary)
	}
	return out
}

// errorDetails returns the details of the error diagnostics, for the few
// tests that check what a message says.
func errorDetails(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d.Detail)
		}
	}
	return out
}

func formatDiags(p *decode.Loader, diags hcl.Diagnostics) string {
	var b strings.Builder
	wr := hcl.NewDiagnosticTextWriter(&b, p.Files(), 100, false)
	_ = wr.WriteDiagnostics(diags)
	return b.String()
}

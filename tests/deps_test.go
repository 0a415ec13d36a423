package tests

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sovereign-collective/sovereign"

// TestLayering keeps the data flowing one way (blueprint → spec → modules →
// tree → outputs) and each external library in the room that owns it, as
// go-containerregistry's depcheck does: `go list -deps` of each package must
// not reach what it has no business importing.
func TestLayering(t *testing.T) {
	// allowed are packages below a forbidden one that a package may use.
	allowed := map[string][]string{
		// diff reads outputs by their contract alone.
		"cmd/sovereign/diff": {module + "/units/output"},
		"units/output":       {module + "/units/output"},
	}
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		// The spec and the tree are plain data.
		{"blueprints/spec", []string{module + "/units", module + "/modules", module + "/images", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		{"units", []string{module + "/blueprints", module + "/modules", module + "/images", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		// Loading never renders, pins or talks to a registry.
		{"blueprints/decode", []string{module + "/units", module + "/modules", module + "/images", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		// The language knows blocks by name only: it never imports a decoder.
		{"blueprints/lang", []string{module + "/blueprints/decode", module + "/units", module + "/modules", module + "/images", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		// init's generator writes the reference blueprint; it never loads one.
		{"blueprints/starter", []string{module + "/blueprints/lang", module + "/blueprints/decode", module + "/units", module + "/modules", module + "/images", "github.com/hashicorp/hcl", "github.com/spf13/cobra"}},
		// Modules render through units; only units/ignition knows butane.
		{"modules", []string{module + "/images", module + "/units/ignition", module + "/cmd", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		{"units/ignition", []string{module + "/blueprints", module + "/modules", module + "/images", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		// Building never pushes or pulls: no registry client below cmd/.
		{"images", []string{module + "/blueprints", module + "/modules", module + "/images/resolve", "github.com/coreos/butane", "github.com/spf13/cobra", "github.com/google/go-containerregistry/pkg/v1/remote"}},
		{"cmd/sovereign/pipeline", []string{"github.com/spf13/cobra", module + "/images/resolve", "github.com/google/go-containerregistry/pkg/v1/remote"}},
		// Resolving and bundling images is a library for the command line:
		// it knows images and the lock, not blueprints, modules or cobra.
		{"images/resolve", []string{module + "/blueprints", module + "/modules", module + "/units/ignition", module + "/cmd", "github.com/coreos/butane", "github.com/spf13/cobra"}},
		// Image mode: the image is built from the tree alone, the update
		// path is units, and diff reads outputs, never a blueprint or a
		// registry.
		// Writing a layout is local: blobs come from whatever image it is given.
		{"images/layout", []string{module + "/blueprints", module + "/modules", module + "/units", module + "/cmd", "github.com/spf13/cobra", "github.com/google/go-containerregistry/pkg/v1/remote"}},
		// The OS image builder runs buildah on a build context; it knows no
		// blueprint, tree or registry client of its own.
		{"images/buildah", []string{module + "/blueprints", module + "/modules", module + "/units", module + "/cmd", "github.com/spf13/cobra", "github.com/google/go-containerregistry"}},
		{"images/appliance", []string{module + "/blueprints", module + "/modules", module + "/units/ignition", module + "/cmd", "github.com/coreos/butane", "github.com/spf13/cobra", "github.com/google/go-containerregistry/pkg/v1/remote"}},
		{"units/update", []string{module + "/blueprints", module + "/modules", module + "/images", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		{"cmd/sovereign/diff", []string{module + "/blueprints", module + "/modules", module + "/images", module + "/units", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra"}},
		// The output contract is plain names and types: a reader of out/
		// needs nothing else.
		{"units/output", []string{module + "/blueprints", module + "/modules", module + "/images", module + "/units", module + "/cmd", "github.com/coreos/butane", "github.com/google/go-containerregistry", "github.com/spf13/cobra", "github.com/hashicorp/hcl"}},
	}
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", module+"/"+r.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 5 {
				t.Fatalf("go list -deps returned almost nothing: %q", deps)
			}
			for _, d := range deps {
				if slices.Contains(allowed[r.pkg], d) {
					continue
				}
				for _, f := range r.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s", r.pkg, d)
					}
				}
			}
		})
	}
}

// TestCommandsUseThePipeline: the command line parses flags, calls the
// pipeline and prints; it never loads a blueprint or compiles the modules
// itself, so that every command sees the blueprint through the same one pass.
func TestCommandsUseThePipeline(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/cmd/sovereign/commands").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := strings.Fields(string(out))
	if len(imports) < 5 {
		t.Fatalf("go list returned almost nothing: %q", imports)
	}
	for _, imp := range imports {
		if imp == module+"/modules" || imp == module+"/blueprints/decode" {
			t.Errorf("cmd/sovereign/commands imports %s; run the pass through cmd/sovereign/pipeline", imp)
		}
	}
}

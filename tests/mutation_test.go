package tests

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
)

// wrongValues stand in, one at a time, for the value of an attribute: every
// kind of value HCL has, a number where none fits, and a reference to
// nothing. null matters most: HCL counts "x = null" as present.
var wrongValues = []string{`true`, `"x"`, `-1`, `1.5`, `[]`, `{}`, `null`, `"${var.nope}"`}

// mutatedFiles are the reference blueprints' files whose every attribute is
// mutated, and the blueprint whose validation reads each.
var mutatedFiles = []struct{ file, blueprint string }{
	{"dgx-station-gb300.hcl", "dgx-station-gb300.hcl"},
	{"dgx-station-gb300.lock.hcl", "dgx-station-gb300.hcl"},
	{"collective/service.hcl", "dgx-station-gb300.hcl"},
	{"collective/gateway/members.hcl", "dgx-station-gb300.hcl"},
	{"cloud-audition-h100.hcl", "cloud-audition-h100.hcl"},
	{"fleet-two-gb300.hcl", "fleet-two-gb300.hcl"},
}

// TestEveryAttributeMutated gives every attribute of the reference
// blueprints (and of a lock file), one at a time, each of wrongValues, and
// validates the blueprint. Whatever the value, sovereign must answer with
// success or with located errors (exit 1), never crash, exit otherwise or
// print an error it cannot place in the blueprint's files. A required
// setting given null once crashed the gateway's key derivation this way.
//
//	go test ./tests -run TestEveryAttributeMutated -v
func TestEveryAttributeMutated(t *testing.T) {
	if testing.Short() {
		t.Skip("validates the reference blueprints about 1,300 times")
	}
	mutateReferenceBlueprints(t, func(file string, src []byte, body *hclsyntax.Body) []mutation {
		var out []mutation
		for _, at := range attributesOf(body) {
			r := at.Expr.Range()
			for _, v := range wrongValues {
				out = append(out, mutation{
					what: fmt.Sprintf("%s line %d: %s = %s", file, r.Start.Line, at.Name, v),
					src:  slices.Concat(src[:r.Start.Byte], []byte(v), src[r.End.Byte:]),
				})
			}
		}
		return out
	})
}

// mutation is one changed copy of a blueprint file.
type mutation struct {
	what string
	src  []byte
}

// mutateReferenceBlueprints validates, for each of mutatedFiles, every
// mutation that mutate makes of it, and checks each answer (checkMutation).
func mutateReferenceBlueprints(t *testing.T, mutate func(file string, src []byte, body *hclsyntax.Body) []mutation) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "blueprints"))
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for _, m := range mutatedFiles {
		path := filepath.Join(root, m.file)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", m.file, diags)
		}
		for _, mu := range mutate(m.file, src, file.Body.(*hclsyntax.Body)) {
			runs++
			// The mutated file lies over the real tree, in memory.
			fsys := afero.NewCopyOnWriteFs(afero.NewReadOnlyFs(afero.NewOsFs()), afero.NewMemMapFs())
			if err := afero.WriteFile(fsys, path, mu.src, 0o644); err != nil {
				t.Fatal(err)
			}
			checkMutation(t, mu.what, fsys, root, filepath.Join(root, m.blueprint))
		}
	}
	t.Logf("%d validations of mutated blueprints", runs)
}

// attributesOf lists every attribute in body and its blocks, however deep.
func attributesOf(body *hclsyntax.Body) []*hclsyntax.Attribute {
	var out []*hclsyntax.Attribute
	for _, name := range slices.Sorted(maps.Keys(body.Attributes)) {
		out = append(out, body.Attributes[name])
	}
	for _, b := range body.Blocks {
		out = append(out, attributesOf(b.Body)...)
	}
	return out
}

// checkMutation validates blueprint on fsys and fails the test, naming the
// mutation, unless sovereign answered with success or located errors.
func checkMutation(t *testing.T, what string, fsys afero.Fs, root, blueprint string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: sovereign validate panicked: %v\n%s", what, r, debug.Stack())
				code = -1
			}
		}()
		return commands.Main(context.Background(), []string{"validate", blueprint}, &stdout, &stderr, fsys, nil)
	}()
	switch code {
	case -1:
		return
	case commands.ExitOK, commands.ExitInvalid:
	default:
		t.Errorf("%s: exit %d, want %d or %d\n%s", what, code, commands.ExitOK, commands.ExitInvalid, stderr.String())
		return
	}
	errs := 0
	for _, d := range parseDiagnosticText(stderr.String()) {
		if d.severity != "Error" {
			continue
		}
		errs++
		if d.file == "" || !strings.HasPrefix(d.file, root+string(filepath.Separator)) {
			t.Errorf("%s: error %q is not located in the blueprint's files (at %q)\n%s", what, d.summary, d.file, stderr.String())
		}
	}
	if code == commands.ExitInvalid && errs == 0 {
		t.Errorf("%s: exit %d without an error printed\n%s", what, code, stderr.String())
	}
}

// TestEveryBlockMutated does to every block of the same files what a
// careless edit does: deletes it, repeats it, empties it, and gives its
// first label an empty or a path-like name. Each result is held to the
// same standard as TestEveryAttributeMutated.
func TestEveryBlockMutated(t *testing.T) {
	if testing.Short() {
		t.Skip("validates the reference blueprints about 300 times")
	}
	mutateReferenceBlueprints(t, func(file string, src []byte, body *hclsyntax.Body) []mutation {
		var out []mutation
		for _, b := range blocksOf(body) {
			whole := b.Range()
			open, closing := b.OpenBraceRange.End.Byte, b.CloseBraceRange.Start.Byte
			edits := map[string][]byte{
				"deleted":  slices.Concat(src[:whole.Start.Byte], src[whole.End.Byte:]),
				"repeated": slices.Concat(src[:whole.End.Byte], []byte("\n"), src[whole.Start.Byte:]),
				"emptied":  slices.Concat(src[:open], []byte("\n"), src[closing:]),
			}
			if len(b.LabelRanges) > 0 {
				l := b.LabelRanges[0]
				edits["label empty"] = slices.Concat(src[:l.Start.Byte], []byte(`""`), src[l.End.Byte:])
				edits["label a path"] = slices.Concat(src[:l.Start.Byte], []byte(`"Bad Name/../x"`), src[l.End.Byte:])
			}
			for _, name := range slices.Sorted(maps.Keys(edits)) {
				out = append(out, mutation{what: fmt.Sprintf("%s line %d: block %s %s", file, whole.Start.Line, b.Type, name), src: edits[name]})
			}
		}
		return out
	})
}

// blocksOf lists every block in body, however deep.
func blocksOf(body *hclsyntax.Body) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		out = append(out, b)
		out = append(out, blocksOf(b.Body)...)
	}
	return out
}

package blueprints

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// SortDiagnostics orders diagnostics by where they point, file by file and
// top to bottom, whatever order the phases found them in (hcl reports a
// block's unknown arguments in map order): people fix a file from the top,
// and tests compare stable lists. Diagnostics without a location come first.
func SortDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
	return out
}

// onlyUnknownBlocks reports whether every error is hcl's "Unsupported block
// type": loading then goes on, so that one misspelt block does not hide
// every other mistake in the blueprint.
func onlyUnknownBlocks(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary != "Unsupported block type" {
			return false
		}
	}
	return true
}

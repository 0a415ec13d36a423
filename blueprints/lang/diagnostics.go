package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
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
func OnlyUnknownBlocks(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary != "Unsupported block type" {
			return false
		}
	}
	return true
}

// Diagnostics quote the values they are about, and a value can be huge (a
// whole file read by file(), a 200 KB -var): cut what no one reads.
const (
	maxQuotedWord = 120  // characters of one word (a run without spaces)
	maxDetail     = 2000 // characters of a whole detail
)

// CutLongValues shortens every over-long word in the diagnostics' details,
// and the details themselves, saying how much was cut.
func CutLongValues(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		d.Summary = cutText(d.Summary)
		d.Detail = cutText(d.Detail)
	}
	return diags
}

func cutText(s string) string {
	if len(s) <= maxQuotedWord {
		return s
	}
	words := strings.SplitAfter(s, " ")
	for i, w := range words {
		if r := []rune(w); len(r) > maxQuotedWord {
			words[i] = fmt.Sprintf("%s… (%d more characters) ", string(r[:maxQuotedWord/2]), len(r)-maxQuotedWord/2)
		}
	}
	s = strings.Join(words, "")
	if r := []rune(s); len(r) > maxDetail {
		s = fmt.Sprintf("%s… (%d more characters)", string(r[:maxDetail]), len(r)-maxDetail)
	}
	return s
}

// itemRange is the range of the value of key in an object constructor such
// as files = { "config.json" = "sha256:…" }, or the whole value otherwise.
func ItemRange(at *hcl.Attribute, key string) hcl.Range {
	if obj, ok := at.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if k, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() && k.AsString() == key {
				return item.ValueExpr.Range()
			}
		}
	}
	return at.Expr.Range()
}

package diff

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
)

// files compares the rootfs files of o and n, and returns with the changes
// a map of each changed path to how it changed, for the services' part.
func files(o, n *tree) ([]FileChange, map[string]string) {
	out := []FileChange{}
	changed := map[string]string{}
	for _, p := range union(keys(o.files), keys(n.files)) {
		oe, inOld := o.files[p]
		ne, inNew := n.files[p]
		fc := FileChange{Path: p, Secret: oe.Secret || ne.Secret}
		switch {
		case !inOld:
			fc.Change, fc.Mode = "added", &Change{New: ne.Mode}
		case !inNew:
			fc.Change, fc.Mode = "removed", &Change{Old: oe.Mode}
		default:
			same := bytes.Equal(o.contents[p], n.contents[p])
			if same && oe.Mode == ne.Mode && oe.Secret == ne.Secret {
				continue
			}
			fc.Change = "changed"
			if oe.Mode != ne.Mode {
				fc.Mode = &Change{Old: oe.Mode, New: ne.Mode}
			}
			if same {
				fc.Change = "mode"
			}
		}
		if !fc.Secret && fc.Change != "mode" {
			fc.Diff = textDiff(p, o.contents[p], n.contents[p], inOld, inNew)
		}
		out = append(out, fc)
		changed[p] = fc.Change
	}
	return out, changed
}

// textDiff is the unified diff of a file's two versions, or a note when
// either is not text.
func textDiff(p string, a, b []byte, inOld, inNew bool) string {
	if !isText(a) || !isText(b) {
		return "(binary file)"
	}
	from, to := "old"+p, "new"+p
	if !inOld {
		from = "/dev/null"
	}
	if !inNew {
		to = "/dev/null"
	}
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)", err)
	}
	return s
}

func isText(b []byte) bool { return utf8.Valid(b) && !bytes.ContainsRune(b, 0) }

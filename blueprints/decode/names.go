package decode

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// names remembers where each name of one kind of labelled block (an admin,
// an uplink, a receiver…) was declared first, so that a second block of the
// same name is an error at its label that points at the first.
type names struct {
	what string
	at   map[string]hcl.Range
}

// taken is the error for a block whose name an earlier one took, at the
// block's label; a name seen for the first time is recorded as declared at
// declared, and taken is nil.
func (n names) taken(name string, label, declared hcl.Range) *hcl.Diagnostic {
	if prev, ok := n.at[name]; ok {
		return lang.DuplicateDiag(n.what, name, label, prev)
	}
	n.at[name] = declared
	return nil
}

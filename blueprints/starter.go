package blueprints

import _ "embed"

// starter is the reference GB300 blueprint, embedded so that sovereign init
// writes exactly the blueprint that the golden tests build.
//
//go:embed dgx-station-gb300.hcl
var starter []byte

// Starter returns the blueprint sovereign init writes.
func Starter() []byte { return append([]byte(nil), starter...) }

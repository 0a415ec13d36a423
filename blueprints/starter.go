package blueprints

import _ "embed"

// starter is the reference GB300 blueprint, embedded so that sovereign init
// writes exactly the blueprint that the golden tests build.
//
//go:embed dgx-station-gb300.hcl
var starter []byte

// Starter returns the blueprint sovereign init writes.
func Starter() []byte { return append([]byte(nil), starter...) }

// starterLock pins the starter's images (DESIGN §7), so that the starter
// builds offline as it is.
//
//go:embed dgx-station-gb300.lock.hcl
var starterLock []byte

// StarterLock returns the lock file sovereign init writes beside the starter.
func StarterLock() []byte { return append([]byte(nil), starterLock...) }

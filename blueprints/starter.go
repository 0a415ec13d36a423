package blueprints

import (
	"bytes"
	_ "embed"
)

// starter is the reference GB300 blueprint, embedded so that sovereign init
// writes exactly the blueprint that the golden tests build.
//
//go:embed dgx-station-gb300.hcl
var starter []byte

// Starter returns the blueprint sovereign init writes.
func Starter() []byte { return append([]byte(nil), starter...) }

// starterBuildLine is the build command in the reference blueprint's header.
const starterBuildLine = "#   sovereign build blueprints/dgx-station-gb300.hcl -o out\n"

// StarterFor is the starter as init writes it into dir: its header gives
// the command that builds it there, not the repository's.
func StarterFor(dir string) []byte {
	return bytes.Replace(Starter(), []byte(starterBuildLine), []byte("#   sovereign build "+dir+" -o out\n"), 1)
}

// starterLock pins the starter's images (DESIGN §7), so that the starter
// builds offline as it is.
//
//go:embed dgx-station-gb300.lock.hcl
var starterLock []byte

// StarterLock returns the lock file sovereign init writes beside the starter.
func StarterLock() []byte { return append([]byte(nil), starterLock...) }

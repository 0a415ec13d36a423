package starter

import (
	"bytes"
	"github.com/sovereign-collective/sovereign/blueprints"
)

// Starter returns the blueprint sovereign init writes: the reference GB300
// blueprint, exactly the one the golden tests build.
func Starter() []byte { return blueprints.GB300() }

// starterBuildLine is the build command in the reference blueprint's header.
const starterBuildLine = "#   sovereign build blueprints/dgx-station-gb300.hcl -o out\n"

// StarterFor is the starter as init writes it into dir: its header gives
// the command that builds it there, not the repository's.
func StarterFor(dir string) []byte {
	return bytes.Replace(Starter(), []byte(starterBuildLine), []byte("#   sovereign build "+dir+" -o out\n"), 1)
}

// StarterLock returns the lock file sovereign init writes beside the starter:
// it pins the starter's images, so that the starter builds offline as it is.
func StarterLock() []byte { return blueprints.GB300Lock() }

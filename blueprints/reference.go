// Package blueprints is the reference blueprints: the .hcl files beside this
// one, their lock files and the modules they call. The Go here only embeds
// the GB300 blueprint and the files it reads, so that sovereign init writes
// exactly what the golden tests build. The language lives in lang, the block
// decoders and the loader in decode, init's generator in starter.
package blueprints

import _ "embed"

var (
	//go:embed dgx-station-gb300.hcl
	gb300 []byte
	//go:embed dgx-station-gb300.lock.hcl
	gb300Lock []byte
	//go:embed collective/service.hcl
	collectiveService []byte
	//go:embed collective/gateway/members.hcl
	collectiveMembers []byte
)

// GB300 is the reference GB300 blueprint.
func GB300() []byte { return append([]byte(nil), gb300...) }

// GB300Lock is the lock file that pins the GB300 blueprint's images.
func GB300Lock() []byte { return append([]byte(nil), gb300Lock...) }

// CollectiveService is the service module the GB300 blueprint calls.
func CollectiveService() []byte { return append([]byte(nil), collectiveService...) }

// CollectiveMembers is the members file of the service module's gateway.
func CollectiveMembers() []byte { return append([]byte(nil), collectiveMembers...) }

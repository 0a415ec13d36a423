// Package engines is the registry of engine kinds: the one list the
// blueprint loader (through Kinds), the capacity planner and the engine
// module look a kind up in. Adding a kind is a package below this one and a
// line in kinds.
package engines

import (
	"slices"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines/nim"
	"github.com/sovereign-collective/sovereign/modules/engines/sglang"
	"github.com/sovereign-collective/sovereign/modules/engines/vllm"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
)

// kinds are the engine kinds a blueprint can use.
var kinds = []*engine.Kind{
	vllm.Kind,
	sglang.Kind,
	nim.Kind,
}

// Lookup returns the kind named name.
func Lookup(name string) (*engine.Kind, bool) {
	for _, k := range kinds {
		if k.Name == name {
			return k, true
		}
	}
	return nil, false
}

// All returns every kind, in the registry's order.
func All() []*engine.Kind { return slices.Clone(kinds) }

// Service is the systemd service engine eng runs as on its host, for
// whatever outside the modules needs to name it (the boot test's probe).
func Service(eng *spec.Engine) string { return engine.Service(eng) }

// Kinds is the registry as the blueprint loader reads it.
var Kinds spec.EngineKinds = registry{}

type registry struct{}

func (registry) Lookup(name string) (*spec.EngineKind, bool) {
	if k, ok := Lookup(name); ok {
		return &k.EngineKind, true
	}
	return nil, false
}

func (registry) Names() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	return names
}

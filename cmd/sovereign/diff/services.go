package diff

import (
	"maps"
	"path"
	"slices"

	"github.com/sovereign-collective/sovereign/units/output"
)

// images compares the image each unit file runs, as the manifests record;
// nothing when either side does not describe its units (notes says so).
func images(o, n *tree) []ImageChange {
	out := []ImageChange{}
	if o.unrecorded || n.unrecorded {
		return out
	}
	for _, p := range union(keys(o.units), keys(n.units)) {
		oi, ni := o.units[p].Image, n.units[p].Image
		if oi != ni {
			out = append(out, ImageChange{Unit: path.Base(p), Change: Change{Old: oi, New: ni}})
		}
	}
	return out
}

// services works out which services an update starts, stops and restarts:
// a unit file added starts its service, one removed stops it; the units of
// both sides restart as apply restarts them (output.Restarts): their file
// or a path they read changed, or they need a unit that restarts.
func services(o, n *tree, changed map[string]string) []Service {
	byName := map[string]*Service{}
	add := func(name, action, why string) {
		s := byName[name]
		if s == nil {
			s = &Service{Name: name, Action: action}
			byName[name] = s
		}
		if !slices.Contains(s.Why, why) {
			s.Why = append(s.Why, why)
		}
	}
	for _, p := range sortedKeys(changed) {
		switch u, ok := n.units[p]; {
		case changed[p] == "added" && ok:
			add(u.Service, "start", path.Base(p)+" added")
		case changed[p] == "removed" && o.units[p].Service != "":
			add(o.units[p].Service, "stop", path.Base(p)+" removed")
		}
	}
	// A unit that is new starts anyway; the others restart.
	var both []output.UnitFile
	for _, p := range sortedKeys(n.units) {
		if _, existed := o.units[p]; existed {
			both = append(both, n.units[p])
		}
	}
	r := output.NewRestarts()
	r.FromChanges(both, changed)
	r.FollowNeeds(slices.Collect(maps.Values(n.units)))
	for _, svc := range r.Services() {
		for _, why := range r.Why(svc) {
			add(svc, "restart", why)
		}
	}
	out := []Service{}
	for _, name := range sortedKeys(byName) {
		out = append(out, *byName[name])
	}
	return out
}

package output

import (
	"maps"
	"slices"
	"strings"
)

// UnitFile is a unit file of an output and its record.
type UnitFile struct {
	Path string
	Unit
}

// UnitFiles are the unit files among a manifest's entries, by path.
func UnitFiles(entries []ManifestEntry) map[string]UnitFile {
	out := map[string]UnitFile{}
	for _, e := range entries {
		if e.Unit != nil {
			out[e.Path] = UnitFile{Path: e.Path, Unit: *e.Unit}
		}
	}
	return out
}

// Restarts gathers the services an update restarts and why. Both diff (what
// an update would do) and apply (what it does to a host) work it out here,
// so that they agree.
type Restarts struct {
	why map[string][]string
}

// NewRestarts returns an empty set.
func NewRestarts() *Restarts { return &Restarts{why: map[string][]string{}} }

// Add restarts service for why.
func (r *Restarts) Add(service, why string) {
	if !slices.Contains(r.why[service], why) {
		r.why[service] = append(r.why[service], why)
	}
}

// Has reports whether service restarts.
func (r *Restarts) Has(service string) bool { return len(r.why[service]) > 0 }

// Why are the reasons service restarts, in the order they were found.
func (r *Restarts) Why(service string) []string { return r.why[service] }

// Services are the services that restart, sorted.
func (r *Restarts) Services() []string { return slices.Sorted(maps.Keys(r.why)) }

// FromChanges restarts each unit whose own file changed, and each unit
// whose settings read a changed path or a folder above one. changed maps a
// path to how it changed ("changed", "added", …); it is read in path order,
// so the reasons come in a stable order.
func (r *Restarts) FromChanges(units []UnitFile, changed map[string]string) {
	paths := slices.Sorted(maps.Keys(changed))
	for _, u := range sortedUnits(units) {
		if how, ok := changed[u.Path]; ok {
			r.Add(u.Service, baseName(u.Path)+" "+how)
		}
		for _, p := range paths {
			if p == u.Path {
				continue
			}
			for _, read := range u.Reads {
				if p == read || strings.HasPrefix(p, strings.TrimSuffix(read, "/")+"/") {
					r.Add(u.Service, p+" "+changed[p])
					break
				}
			}
		}
	}
}

// FollowNeeds restarts, as systemd does, every unit that Requires=,
// BindsTo= or is PartOf= a restarted one, and so on until nothing more
// restarts.
func (r *Restarts) FollowNeeds(units []UnitFile) {
	sorted := sortedUnits(units)
	for more := true; more; {
		more = false
		for _, u := range sorted {
			for _, need := range u.Needs {
				if need == u.Service || !r.Has(need) || slices.Contains(r.why[u.Service], "requires "+need) {
					continue
				}
				more = more || !r.Has(u.Service)
				r.Add(u.Service, "requires "+need)
			}
		}
	}
}

func sortedUnits(units []UnitFile) []UnitFile {
	out := slices.Clone(units)
	slices.SortFunc(out, func(a, b UnitFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// Package names knows which metric names each scrape target exports: every
// supported engine release and every exporter the metrics module runs. A
// dashboard or alert that queries a name its target does not export shows
// an empty panel or never fires, silently; Check parses each PromQL
// expression with Prometheus's own parser and refuses such names at build
// time instead.
package names

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sovereign-collective/sovereign/modules/engineflags"
)

// Type is a metric family's Prometheus type; it says which series names the
// family exposes.
type Type int

// Family types.
const (
	// Gauge and Counter expose their name as written here; counters are
	// written with the _total their client library appends.
	Gauge Type = iota
	Counter
	// Histogram exposes NAME_bucket, NAME_sum and NAME_count.
	Histogram
)

// Family is one metric family a target exports.
type Family struct {
	Name string
	Type Type
	// Deprecated families still exist in this release but are gone in a
	// later one: the generated dashboards and rules never use them.
	Deprecated bool
	// ReplacedBy is the family that upstream names in a deprecated one's
	// place, so that a rule written for an older release is told the new
	// name rather than the nearest spelling.
	ReplacedBy string
}

// List is what one target (an engine release, an exporter) exports.
type List struct {
	// Name is the target for people: "vLLM v0.14.0", "node_exporter".
	Name string
	// Source is where the names were read from.
	Source   string
	Families []Family
}

// series returns the series name's family in l, if any.
func (l *List) family(series string) (Family, bool) {
	for _, f := range l.Families {
		switch {
		case f.Name == series:
			return f, true
		case f.Type == Histogram && (series == f.Name+"_bucket" || series == f.Name+"_sum" || series == f.Name+"_count"):
			return f, true
		}
	}
	return Family{}, false
}

// Has reports whether l exports the series name.
func (l *List) Has(series string) bool {
	_, ok := l.family(series)
	return ok
}

// Names lists every series name l exports, sorted.
func (l *List) Names() []string {
	var out []string
	for _, f := range l.Families {
		if f.Type == Histogram {
			out = append(out, f.Name+"_bucket", f.Name+"_count", f.Name+"_sum")
			continue
		}
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

// engines are the supported engine releases by kind, then release.
var engines = map[string]map[string]*List{
	"vllm":   {"v0.11.0": vllmV0110, "v0.14.0": vllmV0140},
	"sglang": {"v0.5.9": sglangV059},
}

// Releases lists the engine releases with a name list, sorted.
func Releases(kind string) []string {
	var out []string
	for r := range engines[kind] {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// UnknownRelease is an engine whose image names a release without a list:
// its metric names cannot be checked.
type UnknownRelease struct {
	Kind, Release string
}

func (e *UnknownRelease) Error() string {
	what := e.Release
	if what == "" {
		what = "the release its image tag names (none)"
	}
	known := strings.Join(Releases(e.Kind), ", ")
	if known == "" {
		known = "none"
	}
	return fmt.Sprintf("sovereign does not know which metrics %s %s exports (it knows %s)", e.Kind, what, known)
}

// Engine is the list of the release an engine's image is pinned to.
func Engine(kind, imageRef string) (*List, error) {
	// The release is read from the image tag the way the flag tables
	// read it, so both always agree on which release an engine runs.
	r := engineflags.VersionOf(imageRef)
	if l, ok := engines[kind][r]; ok {
		return l, nil
	}
	return nil, &UnknownRelease{Kind: kind, Release: r}
}

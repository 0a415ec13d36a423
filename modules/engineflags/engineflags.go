// Package engineflags knows each supported engine release's command line:
// every flag its own parser registers, which take no value, and the values
// it accepts, read from the upstream source at the release's commit. The
// engine modules check what they render, and a blueprint's extra_args,
// against the release the image is pinned to, so that a flag renamed or
// removed upstream fails the build instead of the engine's first start.
//
// The tables are data in data/*.json, embedded at build time; each says in
// its source where it was read from and how. extract/extract_flags.py writes
// the table for a new release from an upstream checkout.
package engineflags

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Release is one engine release's command line.
type Release struct {
	// Engine is the engine kind: "vllm" or "sglang".
	Engine string `json:"engine"`
	// Version is the release as its image tags spell it: "v0.14.0".
	Version string `json:"release"`
	// Program is the command the flags belong to: "vllm serve".
	Program string `json:"program"`
	Source  Source `json:"source"`
	// Flags maps every long option string the parser registers, including
	// argparse's --no- twins and long aliases, to what it takes.
	Flags map[string]Flag `json:"flags"`
	// Aliases maps short options to their long name: "-q" → "--quantization".
	Aliases map[string]string `json:"aliases"`
}

// Source is where a table was read from.
type Source struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	// Commit is the source tree the table was read from.
	Commit string   `json:"commit"`
	Files  []string `json:"files"`
	// Method is how the table was extracted.
	Method string `json:"method"`
	// Notes say what the table leaves out and why.
	Notes []string `json:"notes,omitempty"`
}

// Value says whether a flag takes a value.
const (
	ValueNone     = "none"     // a switch: store_true or a BooleanOptionalAction
	ValueRequired = "required" // one or more values follow
	ValueOptional = "optional" // nargs="?" or "*": the values may be left out
	// An empty Value means the table does not record it.
)

// Flag is what one option takes.
type Flag struct {
	// Dest is the setting the option writes; aliases and --no- twins share it.
	Dest  string `json:"dest"`
	Value string `json:"value,omitempty"`
	// Choices are the values the release accepts; none recorded means the
	// value is not checked.
	Choices []string `json:"choices,omitempty"`
	// ChoicesCheckedBy names the code that refuses other values when the
	// parser itself accepts any string (vLLM's --quantization).
	ChoicesCheckedBy string `json:"choices_checked_by,omitempty"`
	// ChoicesExtendedBy is the flag that loads more choices at start-up
	// (vLLM's --tool-parser-plugin registers more tool-call parsers):
	// given, the value is not checked.
	ChoicesExtendedBy string `json:"choices_extended_by,omitempty"`
	// ChoicesUnchecked says why the values this release accepts are not
	// recorded although it refuses some (parser names registered at run
	// time, a choice list no release-exact source gave): a value given is
	// then a warning that it was not checked, never a silent pass.
	ChoicesUnchecked string `json:"choices_unchecked,omitempty"`
	// DeprecatedChoices are choices the release refuses unless
	// --allow-deprecated-quantization is given too.
	DeprecatedChoices []string `json:"deprecated_choices,omitempty"`
	// Deprecated flags still parse, and warn at start-up.
	Deprecated bool `json:"deprecated,omitempty"`
}

//go:embed data/*.json
var data embed.FS

// tables are the embedded releases by engine, then version.
var tables map[string]map[string]*Release

// loadError is why the embedded tables did not load: a bug the package's
// tests catch, reported by every lookup rather than by a panic.
var loadError error

func init() {
	tables, loadError = loadAll()
}

func loadAll() (map[string]map[string]*Release, error) {
	entries, err := data.ReadDir("data")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*Release{}
	for _, e := range entries {
		b, err := data.ReadFile(path.Join("data", e.Name()))
		if err != nil {
			return nil, err
		}
		r, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if want := r.Engine + "-" + r.Version + ".json"; e.Name() != want {
			return nil, fmt.Errorf("%s holds %s %s: name it %s", e.Name(), r.Engine, r.Version, want)
		}
		if out[r.Engine] == nil {
			out[r.Engine] = map[string]*Release{}
		}
		out[r.Engine][r.Version] = r
	}
	return out, nil
}

var versionSyntax = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)$`)

// Parse reads and checks one release table.
func Parse(b []byte) (*Release, error) {
	var r Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	switch {
	case r.Engine != "vllm" && r.Engine != "sglang":
		return nil, fmt.Errorf("engine %q is not vllm or sglang", r.Engine)
	case !versionSyntax.MatchString(r.Version):
		return nil, fmt.Errorf("release %q is not vX.Y.Z", r.Version)
	case r.Source.Repository == "" || r.Source.Commit == "" || r.Source.Method == "" || len(r.Source.Files) == 0:
		return nil, fmt.Errorf("%s %s: the source must give repository, commit, files and method", r.Engine, r.Version)
	case len(r.Flags) == 0:
		return nil, fmt.Errorf("%s %s has no flags", r.Engine, r.Version)
	}
	for name, f := range r.Flags {
		if !strings.HasPrefix(name, "--") || f.Dest == "" {
			return nil, fmt.Errorf("%s %s: flag %q needs a -- name and a dest", r.Engine, r.Version, name)
		}
		if f.Value != "" && f.Value != ValueNone && f.Value != ValueRequired && f.Value != ValueOptional {
			return nil, fmt.Errorf("%s %s: flag %s: value %q is not none, required or optional", r.Engine, r.Version, name, f.Value)
		}
		if _, ok := r.Flags[f.ChoicesExtendedBy]; f.ChoicesExtendedBy != "" && !ok {
			return nil, fmt.Errorf("%s %s: flag %s: its choices are extended by %s, which is not a flag", r.Engine, r.Version, name, f.ChoicesExtendedBy)
		}
		if f.ChoicesUnchecked != "" && len(f.Choices) > 0 {
			return nil, fmt.Errorf("%s %s: flag %s has choices and says they are not checked", r.Engine, r.Version, name)
		}
		for _, c := range f.DeprecatedChoices {
			if !slices.Contains(f.Choices, c) {
				return nil, fmt.Errorf("%s %s: flag %s: deprecated choice %q is not a choice", r.Engine, r.Version, name, c)
			}
		}
	}
	for short, long := range r.Aliases {
		if _, ok := r.Flags[long]; !ok {
			return nil, fmt.Errorf("%s %s: alias %s names %s, which is not a flag", r.Engine, r.Version, short, long)
		}
	}
	return &r, nil
}

// String names the release for people: "vLLM v0.14.0".
func (r *Release) String() string { return displayName(r.Engine) + " " + r.Version }

func displayName(engine string) string {
	switch engine {
	case "vllm":
		return "vLLM"
	case "sglang":
		return "SGLang"
	}
	return engine
}

// Known lists the releases the project has tables for, oldest first.
func Known(engine string) []string {
	var vs []string
	for v := range tables[engine] {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, compareVersions)
	return vs
}

// Lookup returns the table of one release.
func Lookup(engine, version string) (*Release, error) {
	if loadError != nil {
		return nil, loadError
	}
	r, ok := tables[engine][version]
	if !ok {
		return nil, &UnknownRelease{Engine: engine, Version: version}
	}
	return r, nil
}

// UnknownRelease is a release without a table: the caller warns that its
// flags cannot be checked and names the releases that can.
type UnknownRelease struct {
	Engine string
	// Version is "" when the image's tag does not name a release.
	Version string
}

func (e *UnknownRelease) Error() string {
	known := Known(e.Engine)
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	what := "an unknown release"
	if e.Version != "" {
		what = e.Version
	}
	return fmt.Sprintf("sovereign has no flag table for %s %s, so its flags are not checked; it knows %s", displayName(e.Engine), what, list)
}

// imageTag reads vX.Y.Z from the start of an image reference's tag: the
// engines tag releases v0.14.0, v0.14.0-cu130, v0.14.0-aarch64.
var imageTag = regexp.MustCompile(`:(v\d+\.\d+\.\d+)(?:$|[-_+.])`)

// VersionOf is the release an image reference's tag names, or "" when it
// names none (a digest alone, "latest", "nightly").
func VersionOf(imageRef string) string {
	name, _, _ := strings.Cut(imageRef, "@")
	// The tag follows the last colon after the last slash (a registry may
	// have a port).
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i:]
	}
	if m := imageTag.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// ForImage is the table of the release an engine's image is pinned to.
func ForImage(engine, imageRef string) (*Release, error) {
	return Lookup(engine, VersionOf(imageRef))
}

func compareVersions(a, b string) int {
	ma, mb := versionSyntax.FindStringSubmatch(a), versionSyntax.FindStringSubmatch(b)
	for i := 1; i <= 3 && ma != nil && mb != nil; i++ {
		x, _ := strconv.Atoi(ma[i])
		y, _ := strconv.Atoi(mb[i])
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

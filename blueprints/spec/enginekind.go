package spec

import (
	"fmt"
	"regexp"
	"strings"
)

// EngineKinds are the engine kinds a blueprint can use. The registry is
// modules/engines; the loader is given it, since loading comes before
// modules and imports none of them.
type EngineKinds interface {
	// Lookup returns the kind named name.
	Lookup(name string) (*EngineKind, bool)
	// Names are the kinds' names, sorted.
	Names() []string
}

// EngineKind is what an engine kind declares that the blueprint decoder and
// the capacity planner need: its settings and how it spells them, its KV
// cache element types, how it takes an API key and where its images come
// from. Its module (modules/engines/KIND) adds how its container runs.
type EngineKind struct {
	// Name is the block label: engine "NAME" "...".
	Name string
	// Display is the engine's name for people: "vLLM", "NVIDIA NIM".
	Display string
	// Settings spells, in this engine's own words, the settings that mean
	// the same for every engine (vLLM's max_model_len is SGLang's
	// context_length). A meaning the engine lacks is absent.
	Settings map[Setting]string
	// Own are the settings only this engine has, decoded by Decode.
	Own []string
	// Decode reads the Own settings and checks what only this engine
	// needs; it stores what it read in eng.Own. Nil for a kind without
	// settings of its own.
	Decode func(d SettingsDecoder, eng *Engine)
	// KVCacheDTypes are the engine's KV cache element types, the first
	// being its default.
	KVCacheDTypes []KVCacheDType
	// Quantizations are the methods its quantization setting accepts.
	Quantizations []string
	// APIKey is how the engine takes the key it checks on /v1 requests.
	APIKey EngineAPIKey
	// Images are the repositories the engine's images come from. An entry
	// ending in "/" covers every repository below it (NVIDIA publishes one
	// NIM repository per model).
	Images []string
	// Flags are command-line flags that appeared in a given release: a
	// setting that needs one is refused on an older image.
	Flags []EngineFlag
}

// KVCacheDType is a KV cache element type and its size.
type KVCacheDType struct {
	Name  string
	Bytes int // per cached element
	Why   string
}

// KV cache element types engines share under the same name.
var (
	KVAuto     = KVCacheDType{Name: "auto", Bytes: 2, Why: "auto caches KV in the model's dtype, bf16 for every catalog model: 2 bytes"}
	KVBFloat16 = KVCacheDType{Name: "bfloat16", Bytes: 2, Why: "bfloat16: 2 bytes"}
	KVFP8      = KVCacheDType{Name: "fp8", Bytes: 1, Why: "fp8 (fp8_e4m3 on CUDA): 1 byte, with scales 1.0 unless the checkpoint has them"}
	KVFP8E4M3  = KVCacheDType{Name: "fp8_e4m3", Bytes: 1, Why: "fp8_e4m3: 1 byte"}
	KVFP8E5M2  = KVCacheDType{Name: "fp8_e5m2", Bytes: 1, Why: "fp8_e5m2: 1 byte"}
)

// KVCacheDTypeNames are the names of k's KV cache element types, in order.
func (k *EngineKind) KVCacheDTypeNames() []string {
	names := make([]string, len(k.KVCacheDTypes))
	for i, d := range k.KVCacheDTypes {
		names[i] = d.Name
	}
	return names
}

// EngineAPIKey says how an engine takes its API key: exactly one of Env and
// Unsupported is set.
type EngineAPIKey struct {
	// Env is the environment variable the key is given in.
	Env string
	// Flag, when set, is the command-line flag the engine reads the key
	// from instead: systemd expands ${Env} into it at start, so the key is
	// in the service's 0600 environment file and never in the unit.
	Flag string
	// Unsupported says why the engine takes no key, for people.
	Unsupported string
}

// EngineFlag is a command-line flag a setting needs, and the release it came in.
type EngineFlag struct {
	Flag    string
	Setting string // the attribute that renders it
	Since   Release
	// Otherwise is what to do on an older release.
	Otherwise string
}

// SettingsDecoder reads one engine block's attributes for EngineKind.Decode. Each method
// records a located error for a value it refuses and returns the default.
type SettingsDecoder interface {
	Bool(name string, def bool) bool
	Int(name string, def, lo, hi int) int
	OneOf(name, def string, allowed ...string) string
	String(name, def string) string
	Secret(name string) *Secret
	// Errorf records an error located at attribute name.
	Errorf(name, summary, format string, args ...any)
}

// Release is an engine's semantic version, read from its image tag.
type Release [3]int

var releaseTag = regexp.MustCompile(`:v?(\d+)\.(\d+)\.(\d+)`)

// ReleaseOf reads vX.Y.Z from an image reference's tag; ok is false when
// the tag does not say (a digest alone, "latest").
func ReleaseOf(ref string) (Release, bool) {
	name, _, _ := strings.Cut(ref, "@")
	m := releaseTag.FindStringSubmatch(name)
	if m == nil {
		return Release{}, false
	}
	var r Release
	for i := range r {
		fmt.Sscan(m[i+1], &r[i])
	}
	return r, true
}

// Less reports whether r came before o.
func (r Release) Less(o Release) bool {
	for i := range r {
		if r[i] != o[i] {
			return r[i] < o[i]
		}
	}
	return false
}

func (r Release) String() string { return fmt.Sprintf("v%d.%d.%d", r[0], r[1], r[2]) }

// ImageRepository is an image reference's repository in full: without tag or
// digest, with Docker Hub's implicit registry and "library/" spelled out,
// lower-cased as registries compare it.
func ImageRepository(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	name = strings.ToLower(name)
	first, rest, found := strings.Cut(name, "/")
	if !found {
		return "docker.io/library/" + name
	}
	if !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "docker.io/" + name
	}
	if first == "index.docker.io" {
		first, name = "docker.io", "docker.io/"+rest
	}
	if first == "docker.io" && !strings.Contains(rest, "/") {
		return "docker.io/library/" + rest
	}
	return name
}

// ShipsIn reports whether ref is an image of one of k's repositories.
func (k *EngineKind) ShipsIn(ref string) bool {
	repo := ImageRepository(ref)
	for _, r := range k.Images {
		if repo == r || (strings.HasSuffix(r, "/") && strings.HasPrefix(repo, r)) {
			return true
		}
	}
	return false
}

package images

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is an image reference as a blueprint writes it, normalised the way
// people write it (docker.io, not ggcr's index.docker.io).
type Ref struct {
	// Repository is registry/path: "docker.io/vllm/vllm-openai".
	Repository string
	// Tag is the tag the blueprint names ("latest" when it names neither
	// a tag nor a digest, as every registry client assumes).
	Tag string
	// Digest is the inline digest, "sha256:…", or "".
	Digest string
}

// RefError is a reference a blueprint cannot use, with a diagnostic's
// summary and detail.
type RefError struct{ Summary, Detail string }

func (e *RefError) Error() string { return e.Summary + ": " + e.Detail }

// ParseRef parses and checks a reference. It must name its registry: Podman
// resolves short names through a search list or a prompt, not Docker's
// implicit docker.io.
func ParseRef(ref string) (Ref, error) {
	if ref == "" {
		return Ref{}, &RefError{"Missing image", "The image reference is empty."}
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return Ref{}, &RefError{"Invalid image reference", fmt.Sprintf("%q is not a valid image reference: %s.", ref, err)}
	}
	if first, _, _ := strings.Cut(ref, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
		return Ref{}, &RefError{"Image without a registry",
			fmt.Sprintf("%q does not name its registry, and Podman does not assume docker.io. Write it in full, e.g. \"docker.io/%s\".", ref, ref)}
	}
	repo := parsed.Context()
	registry := repo.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io" // ggcr's spelling is index.docker.io; keep the one people write
	}
	r := Ref{Repository: registry + "/" + repo.RepositoryStr()}
	switch p := parsed.(type) {
	case name.Tag:
		r.Tag = p.TagStr()
	case name.Digest:
		r.Digest = p.DigestStr()
		// name.Digest forgets the tag of repo:tag@sha256:…; keep it, it
		// is what the unit's comment and the lock show people.
		if before, _, ok := strings.Cut(ref, "@"); ok {
			if t, err := name.NewTag(before); err == nil && strings.Contains(before[strings.LastIndex(before, "/")+1:], ":") {
				r.Tag = t.TagStr()
			}
		}
	}
	return r, nil
}

// String is the reference in full: repo:tag, repo@digest or repo:tag@digest.
func (r Ref) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Key is how the lock file names the reference: repo:tag, without a digest.
func (r Ref) Key() string {
	if r.Tag == "" {
		return r.Repository + "@" + r.Digest
	}
	return r.Repository + ":" + r.Tag
}

// At returns the reference pinned to digest, without its tag:
// repo@sha256:…. Podman refuses references with both a tag and a digest.
func (r Ref) At(digest string) string { return r.Repository + "@" + digest }

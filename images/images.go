// Package images owns container image references: parsing them, checking
// that each is pinned to a digest, and (with go-containerregistry) resolving
// and bundling them. Rendering never touches a registry: by the time units
// are written, every image has been pinned here.
package images

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

// Pin checks every image of the tree and sets its Pinned reference. An image
// must carry its digest inline (repo:tag@sha256:…): a tag alone can move, and
// then two builds of the same blueprint would boot different software.
func Pin(tree *units.Tree) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, img := range tree.Images() {
		pinned, err := pinnedReference(img.Ref)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  err.summary,
				Detail:   err.detail,
				Subject:  img.Origin.Ptr(),
			})
			continue
		}
		img.Pinned = pinned
	}
	return diags
}

type refError struct{ summary, detail string }

// pinnedReference returns repo@sha256:… for a reference that carries a
// digest. The tag is dropped from what is rendered: Podman refuses
// references with both a tag and a digest.
func pinnedReference(ref string) (string, *refError) {
	if ref == "" {
		return "", &refError{"Missing image", "The image reference is empty."}
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return "", &refError{"Invalid image reference", fmt.Sprintf("%q is not a valid image reference: %s.", ref, err)}
	}
	// Podman resolves short names through a search list or a prompt, not
	// Docker's implicit docker.io; a blueprint must say which registry.
	if first, _, _ := strings.Cut(ref, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "", &refError{"Image without a registry",
			fmt.Sprintf("%q does not name its registry, and Podman does not assume docker.io. Write it in full, e.g. \"docker.io/%s\".", ref, ref)}
	}
	d, ok := parsed.(name.Digest)
	if !ok {
		return "", &refError{"Image not pinned",
			fmt.Sprintf("%q has no digest, so it could change under the same name. Pin it inline as %s@sha256:<digest> (the digest of the image index, as `skopeo inspect --raw` or `crane digest` print it).", ref, ref)}
	}
	registry := d.Context().RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io" // ggcr's spelling is index.docker.io; keep the one people write
	}
	return registry + "/" + d.Context().RepositoryStr() + "@" + d.DigestStr(), nil
}

package resolve

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// FetchBase reads the base image for platform from its registry. The
// reference must carry a digest: a tag can move, and then two builds of the
// same blueprint would differ.
func FetchBase(ctx context.Context, ref, platform string, opts ...remote.Option) (v1.Image, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return nil, fmt.Errorf("the base image %q must be pinned as REPOSITORY[:TAG]@sha256:DIGEST: %w", ref, err)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(*p), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	img, err := remote.Image(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching the base image %s for %s: %w", ref, platform, err)
	}
	return img, nil
}

// Push writes img to ref (a repository, optionally with a tag) and returns
// the digest reference a host switches to.
func Push(ctx context.Context, img v1.Image, ref string, opts ...remote.Option) (name.Digest, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing %q: %w", ref, err)
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.Write(r, img, opts...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(d.String()), nil
}

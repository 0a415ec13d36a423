package resolve

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/afero"
	"golang.org/x/sync/errgroup"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/layout"
)

// Pin is an image to bundle: its reference (for the name it gets) and the
// digest it is pinned to.
type Pin struct {
	Ref    images.Ref
	Digest string
}

// Bundle writes every pinned image, for platform only, into an OCI image
// layout at dir (index.json, oci-layout, blobs/sha256/…): what `skopeo copy
// oci:DIR:NAME containers-storage:NAME` reads on the appliance. For an index
// the index itself is kept byte for byte, so that the image keeps the digest
// the units run it by, with only the platform's child and its blobs beside
// it. Blobs already in dir with the right digest are kept, so an interrupted
// bundle resumes. index.json is written last: a bundle without it is
// incomplete.
func (r *Resolver) Bundle(ctx context.Context, fsys afero.Fs, dir string, pins []Pin, platform string) error {
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return fmt.Errorf("platform %q: %w", platform, err)
	}
	w, err := layout.New(fsys, dir)
	if err != nil {
		return err
	}
	descs := make([]v1.Descriptor, len(pins))
	errs := make([]*Error, len(pins))
	var g errgroup.Group
	g.SetLimit(r.parallel())
	for i, p := range pins {
		g.Go(func() error {
			shown := p.Ref.Key()
			// Layers take as long as they take: no deadline on the whole
			// image, only on each response to begin (see options).
			errs[i] = r.attempt(ctx, shown, 0, func(ctx context.Context) error {
				d, err := r.fetch(ctx, w, p, *want)
				descs[i] = d
				return err
			})
			return nil
		})
	}
	_ = g.Wait()
	var failed Errors
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		sort.Slice(failed, func(i, j int) bool { return failed[i].Ref < failed[j].Ref })
		return failed
	}
	sort.Slice(descs, func(i, j int) bool {
		return descs[i].Annotations[layout.RefNameAnnotation] < descs[j].Annotations[layout.RefNameAnnotation]
	})
	return w.Index(descs)
}

// fetch writes one pinned image and returns its descriptor for index.json.
func (r *Resolver) fetch(ctx context.Context, w *layout.Writer, p Pin, want v1.Platform) (v1.Descriptor, error) {
	ref, err := name.NewDigest(p.Ref.Repository + "@" + p.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	opts := r.options(ctx)
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return v1.Descriptor{}, err
	}
	top := desc.Descriptor
	top.Annotations = map[string]string{layout.RefNameAnnotation: p.Ref.Key()}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return v1.Descriptor{}, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		child := childFor(im, want)
		if child == nil {
			return v1.Descriptor{}, &platformError{fmt.Errorf("its index has no %s image", want.String())}
		}
		if img, err = idx.Image(child.Digest); err != nil {
			return v1.Descriptor{}, err
		}
		// The index byte for byte: its digest is the one units run.
		if err := w.Bytes(desc.Digest, desc.Manifest); err != nil {
			return v1.Descriptor{}, err
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return v1.Descriptor{}, err
		}
	default:
		return v1.Descriptor{}, &platformError{fmt.Errorf("it is a %s, not an image or an index", desc.MediaType)}
	}
	if err := w.Image(img); err != nil {
		return v1.Descriptor{}, err
	}
	return top, nil
}

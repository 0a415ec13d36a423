package resolve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spf13/afero"
	"golang.org/x/sync/errgroup"

	"github.com/sovereign-collective/sovereign/images"
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
	if err := fsys.MkdirAll(path.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	w := &layoutWriter{fs: fsys, dir: dir}
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
		return descs[i].Annotations[refNameAnnotation] < descs[j].Annotations[refNameAnnotation]
	})
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	if err := afero.WriteFile(fsys, path.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
		return err
	}
	return writeAtomic(fsys, path.Join(dir, "index.json"), append(b, '\n'))
}

const refNameAnnotation = "org.opencontainers.image.ref.name"

// fetch writes one pinned image and returns its descriptor for index.json.
func (r *Resolver) fetch(ctx context.Context, w *layoutWriter, p Pin, want v1.Platform) (v1.Descriptor, error) {
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
	top.Annotations = map[string]string{refNameAnnotation: p.Ref.Key()}
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
		if err := w.blob(desc.Digest, desc.Size, func() (io.ReadCloser, error) { return nopCloser(desc.Manifest), nil }); err != nil {
			return v1.Descriptor{}, err
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return v1.Descriptor{}, err
		}
	default:
		return v1.Descriptor{}, &platformError{fmt.Errorf("it is a %s, not an image or an index", desc.MediaType)}
	}
	if err := w.image(img); err != nil {
		return v1.Descriptor{}, err
	}
	return top, nil
}

// layoutWriter writes content-addressed blobs into an OCI layout through
// afero, each verified against its digest and renamed into place whole.
type layoutWriter struct {
	fs  afero.Fs
	dir string
	mu  sync.Mutex // serialises writes of the same blob by two images
}

func (w *layoutWriter) image(img v1.Image) error {
	raw, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	if err := w.blob(cfgName, int64(len(cfg)), func() (io.ReadCloser, error) { return nopCloser(cfg), nil }); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		if err := w.blob(d, size, l.Compressed); err != nil {
			return err
		}
	}
	// The manifest last: a manifest in the layout means its blobs are too.
	return w.blob(digest, int64(len(raw)), func() (io.ReadCloser, error) { return nopCloser(raw), nil })
}

func (w *layoutWriter) blob(d v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	if d.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", d)
	}
	p := path.Join(w.dir, "blobs", "sha256", d.Hex)
	if info, err := w.fs.Stat(p); err == nil && info.Size() == size {
		return nil // written by an earlier run or another image
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := afero.TempFile(w.fs, path.Join(w.dir, "blobs", "sha256"), ".partial-"+d.Hex[:12]+"-")
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && (n != size || hex.EncodeToString(h.Sum(nil)) != d.Hex) {
		err = fmt.Errorf("blob %s: got %d bytes with digest sha256:%x, want %d bytes", d, n, h.Sum(nil), size)
	}
	if err != nil {
		_ = w.fs.Remove(tmp.Name())
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fs.Rename(tmp.Name(), p)
}

func writeAtomic(fsys afero.Fs, p string, b []byte) error {
	tmp := p + ".partial"
	if err := afero.WriteFile(fsys, tmp, b, 0o644); err != nil {
		return err
	}
	return fsys.Rename(tmp, p)
}

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

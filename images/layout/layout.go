// Package layout writes OCI image layouts through afero (go-containerregistry's
// own layout package writes to the OS directly, which would bypass the
// in-memory builds and the atomic output). Every blob is verified against its
// digest and size on its way to disk and renamed into place whole, so an
// interrupted write leaves no blob that lies about its content, and a later
// run skips what is already there.
package layout

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spf13/afero"
)

// RefNameAnnotation names an image in index.json, so that
// `skopeo copy oci:DIR:NAME …` finds it.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Writer writes blobs and images into the layout at one folder. It is safe
// for concurrent use: two images sharing a layer write it once.
type Writer struct {
	fs  afero.Fs
	dir string
	mu  sync.Mutex
}

// New prepares the layout's folder.
func New(fsys afero.Fs, dir string) (*Writer, error) {
	if err := fsys.MkdirAll(path.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, err
	}
	return &Writer{fs: fsys, dir: dir}, nil
}

// Image writes an image's config, layers and manifest, the manifest last: a
// manifest in the layout means its blobs are there too.
func (w *Writer) Image(img v1.Image) error {
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
	if err := w.Bytes(cfgName, cfg); err != nil {
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
		if err := w.Blob(d, size, l.Compressed); err != nil {
			return fmt.Errorf("layer %s: %w", d, err)
		}
	}
	return w.Bytes(digest, raw)
}

// Bytes writes a small blob held in memory (a manifest, a config).
func (w *Writer) Bytes(d v1.Hash, b []byte) error {
	return w.Blob(d, int64(len(b)), func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// Blob writes the blob d of size bytes that open streams, unless a blob of
// that size is there already (written by an earlier run or another image).
func (w *Writer) Blob(d v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	if d.Algorithm != "sha256" {
		return fmt.Errorf("blob %s: only sha256 digests are supported", d)
	}
	p := path.Join(w.dir, "blobs", "sha256", d.Hex)
	if info, err := w.fs.Stat(p); err == nil && info.Size() == size {
		return nil
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

// Index writes index.json listing descs, and the oci-layout marker. It is
// written last and renamed into place, so a layout with an index is whole.
func (w *Writer) Index(descs []v1.Descriptor) error {
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: descs}
	b, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	if err := afero.WriteFile(w.fs, path.Join(w.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
		return err
	}
	tmp := path.Join(w.dir, "index.json.partial")
	if err := afero.WriteFile(w.fs, tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return w.fs.Rename(tmp, path.Join(w.dir, "index.json"))
}

package layout_test

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/images/layout"
)

// TestRoundTrip writes a random image and reads it back with
// go-containerregistry's own layout reader: the layout is one that other
// tools (skopeo, crane) can use, and the digest survives.
func TestRoundTrip(t *testing.T) {
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := layout.New(afero.NewOsFs(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Twice: the second write finds every blob in place.
	for i := 0; i < 2; i++ {
		if err := w.Image(img); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := img.Digest()
	size, _ := img.Size()
	mt, _ := img.MediaType()
	if err := w.Index([]v1.Descriptor{{MediaType: mt, Digest: d, Size: size, Annotations: map[string]string{layout.RefNameAnnotation: "v1"}}}); err != nil {
		t.Fatal(err)
	}
	p, err := ggcrlayout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("the image read back is not valid: %v", err)
	}
	if got, _ := back.Digest(); got != d {
		t.Errorf("digest %s read back, wrote %s", got, d)
	}
	if partial, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", ".partial-*")); len(partial) > 0 {
		t.Errorf("partial blobs left behind: %v", partial)
	}
}

// TestBlobVerified refuses bytes that do not match their digest or size,
// and leaves nothing under the digest's name.
func TestBlobVerified(t *testing.T) {
	fsys := afero.NewMemMapFs()
	w, err := layout.New(fsys, "/l")
	if err != nil {
		t.Fatal(err)
	}
	good := []byte("the right bytes")
	d, _, _ := v1.SHA256(bytes.NewReader(good))
	open := func(b []byte) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	err = w.Blob(d, int64(len(good)), open([]byte("the wrong bytes")))
	if err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("corrupted blob: got %v, want a digest error", err)
	}
	if ok, _ := afero.Exists(fsys, "/l/blobs/sha256/"+d.Hex); ok {
		t.Error("a corrupted blob was stored under its digest")
	}
	if err := w.Blob(d, int64(len(good)), open(good)); err != nil {
		t.Fatalf("good blob: %v", err)
	}
	if got, _ := afero.ReadFile(fsys, "/l/blobs/sha256/"+d.Hex); !bytes.Equal(got, good) {
		t.Errorf("stored %q", got)
	}
}

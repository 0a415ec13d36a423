// Package imagestest runs a real OCI registry in the test process
// (go-containerregistry's pkg/registry behind httptest) and pushes images and
// multi-platform indexes built in the test, so that image resolution and
// bundling are tested without the network.
package imagestest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is an in-process registry. Host is "127.0.0.1:PORT", which
// go-containerregistry speaks plain HTTP to.
type Registry struct {
	Host string
	// Requests counts the requests served (after any middleware).
	Requests atomic.Int64
}

// Middleware wraps the registry's handler: latency, failures, auth.
type Middleware func(http.Handler) http.Handler

// NewRegistry starts a registry for the test; it stops with the test. The
// middlewares apply in order, the first outermost.
func NewRegistry(t testing.TB, mw ...Middleware) *Registry {
	t.Helper()
	r := &Registry{}
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		inner.ServeHTTP(w, req)
	})
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// Latency delays every request by d.
func Latency(d time.Duration) Middleware {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			select {
			case <-time.After(d):
			case <-req.Context().Done():
				return
			}
			h.ServeHTTP(w, req)
		})
	}
}

// Switch passes requests through only while on is true; otherwise it
// answers with status (or, if status is 0, hangs until the client gives up).
// Tests push images first, then flip it.
func Switch(on *atomic.Bool, status int) Middleware {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if on.Load() {
				h.ServeHTTP(w, req)
				return
			}
			if status == 0 {
				<-req.Context().Done()
				return
			}
			w.WriteHeader(status)
		})
	}
}

// FailManifests answers the first n manifest GETs with status, then
// serves normally: a flaky registry.
func FailManifests(n int64, status int) Middleware {
	var seen atomic.Int64
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") && req.Method == http.MethodGet && seen.Add(1) <= n {
				w.WriteHeader(status)
				return
			}
			h.ServeHTTP(w, req)
		})
	}
}

// BasicAuth refuses every read without the user and password, the way a
// private registry does (401 with a Basic challenge). Push with
// remote.WithAuth(&authn.Basic{…}).
func BasicAuth(user, password string) Middleware {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="imagestest"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, req)
		})
	}
}

// Image returns a small random image whose config says platform
// ("linux/arm64"), as a real single-platform image's does.
func Image(t testing.TB, platform string) v1.Image {
	t.Helper()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Index is a multi-platform index pushed by PushIndex, with its children.
type Index struct {
	v1.ImageIndex
	Digest   v1.Hash
	Children map[string]v1.Image // by platform
	Digests  map[string]v1.Hash  // child manifest digests by platform
}

// PushIndex pushes an OCI index with one random image per platform to ref
// (host/repo:tag) and returns it.
func PushIndex(t testing.TB, ref string, platforms []string, opts ...remote.Option) *Index {
	t.Helper()
	out := &Index{Children: map[string]v1.Image{}, Digests: map[string]v1.Hash{}}
	var idx v1.ImageIndex = empty.Index
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		img := Image(t, ps)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out.Children[ps], out.Digests[ps] = img, d
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	out.ImageIndex = idx
	if out.Digest, err = idx.Digest(); err != nil {
		t.Fatal(err)
	}
	return out
}

// PushImage pushes a single-platform image to ref and returns it with its
// digest.
func PushImage(t testing.TB, ref, platform string, opts ...remote.Option) (v1.Image, v1.Hash) {
	t.Helper()
	img := Image(t, platform)
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d
}

// Ref is host/repo:tag for this registry.
func (r *Registry) Ref(repoTag string) string { return fmt.Sprintf("%s/%s", r.Host, repoTag) }

// PushBootableBase pushes a synthetic base OS image to repoTag on this
// registry: an OCI index with one OCI image of three random layers per
// platform, labelled as a bootable container image as Fedora CoreOS's are.
// It returns the base's digest reference (host/repo:tag@sha256:…), as a
// blueprint pins it.
func (r *Registry) PushBootableBase(t testing.TB, repoTag string, platforms []string) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		for range 3 {
			l, err := random.Layer(512, types.OCILayer)
			if err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(img, l); err != nil {
				t.Fatal(err)
			}
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Architecture
		cf.Config.Labels = map[string]string{"containers.bootc": "1", "ostree.bootable": "true"}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	tag, err := name.NewTag(r.Ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.String() + "@" + d.String()
}

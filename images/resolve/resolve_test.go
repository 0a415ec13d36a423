package resolve_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/imagestest"
	"github.com/sovereign-collective/sovereign/images/resolve"
)

var both = []string{"linux/amd64", "linux/arm64"}

func refs(t *testing.T, ss ...string) []images.Ref {
	t.Helper()
	var out []images.Ref
	for _, s := range ss {
		r, err := images.ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// fast is a resolver for tests: no credentials from the machine, quick
// retries.
func fast() *resolve.Resolver {
	return &resolve.Resolver{Keychain: authn.NewMultiKeychain(), Backoff: time.Millisecond, Timeout: 5 * time.Second}
}

func TestResolveIndexPerPlatform(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	idx := imagestest.PushIndex(t, reg.Ref("vllm/vllm-openai:v0.14.0"), both)
	for _, platform := range both {
		t.Run(platform, func(t *testing.T) {
			got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("vllm/vllm-openai:v0.14.0")), []string{platform})
			if err != nil {
				t.Fatal(err)
			}
			e := got[reg.Ref("vllm/vllm-openai:v0.14.0")]
			if e == nil {
				t.Fatalf("no entry: %v", got)
			}
			if e.Digest != idx.Digest.String() || e.Kind != images.KindIndex || e.Tag != "v0.14.0" || e.Source != images.SourceRegistry {
				t.Errorf("entry %+v, want index digest %s", e, idx.Digest)
			}
			if len(e.Platforms) != 1 || e.Platforms[platform] != idx.Digests[platform].String() {
				t.Errorf("platforms %v, want %s = %s", e.Platforms, platform, idx.Digests[platform])
			}
		})
	}
}

// arm64 images often say variant v8; linux/arm64 still finds them.
func TestResolveArm64VariantV8(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	idx := imagestest.PushIndex(t, reg.Ref("a/b:1"), []string{"linux/amd64", "linux/arm64/v8"})
	got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/b:1")), []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if d := got[reg.Ref("a/b:1")].Platforms["linux/arm64"]; d != idx.Digests["linux/arm64/v8"].String() {
		t.Errorf("linux/arm64 = %s, want the v8 child %s", d, idx.Digests["linux/arm64/v8"])
	}
}

func TestResolveSinglePlatformImage(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	_, d := imagestest.PushImage(t, reg.Ref("a/arm:1"), "linux/arm64")
	got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/arm:1")), []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	e := got[reg.Ref("a/arm:1")]
	if e.Kind != images.KindManifest || e.Digest != d.String() || e.Platforms["linux/arm64"] != d.String() {
		t.Errorf("entry %+v, want manifest %s", e, d)
	}
}

// Platform truth: an image the host cannot run fails the lock, saying what
// the image has.
func TestResolveWrongPlatform(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	imagestest.PushIndex(t, reg.Ref("a/amd-only:1"), []string{"linux/amd64"})
	imagestest.PushImage(t, reg.Ref("a/amd-image:1"), "linux/amd64")
	for _, tc := range []struct{ ref, want string }{
		{reg.Ref("a/amd-only:1"), "its index has no linux/arm64 image (it has linux/amd64)"},
		{reg.Ref("a/amd-image:1"), "single-platform image for linux/amd64, not linux/arm64 (its config says so)"},
	} {
		_, err := fast().Resolve(context.Background(), refs(t, tc.ref), []string{"linux/arm64"})
		assertOneError(t, err, tc.ref, tc.want, false)
	}
}

func TestResolveMissingTag(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	_, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/b:2")), []string{"linux/arm64"})
	assertOneError(t, err, reg.Ref("a/b:2"), "no such image or tag", false)
}

// A tag that moved resolves to the new digest: what `lock --check` compares.
func TestResolveTagMoved(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	old := imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	moved := imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/b:1")), []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if d := got[reg.Ref("a/b:1")].Digest; d != moved.Digest.String() || d == old.Digest.String() {
		t.Errorf("digest %s, want the new %s", d, moved.Digest)
	}
}

// An inline digest is resolved by its digest, not by the tag (which has
// moved since), and still checked for the platform.
func TestResolveInlineDigest(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	old := imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/b:1@"+old.Digest.String())), []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if e := got[reg.Ref("a/b:1")]; e.Digest != old.Digest.String() || e.Platforms["linux/arm64"] != old.Digests["linux/arm64"].String() {
		t.Errorf("entry %+v, want the inline digest's", e)
	}
}

func TestResolveAuth(t *testing.T) {
	reg := imagestest.NewRegistry(t, imagestest.BasicAuth("coop", "s3cret"))
	creds := &authn.Basic{Username: "coop", Password: "s3cret"}
	idx := imagestest.PushIndex(t, reg.Ref("private/engine:1"), both, remote.WithAuth(creds))

	t.Run("no credentials", func(t *testing.T) {
		_, err := fast().Resolve(context.Background(), refs(t, reg.Ref("private/engine:1")), []string{"linux/arm64"})
		assertOneError(t, err, reg.Ref("private/engine:1"), "the registry refused access (401 Unauthorized). Log in with `podman login "+reg.Host+"`", false)
	})
	t.Run("the user's docker config", func(t *testing.T) {
		// authn.DefaultKeychain reads what `docker login` writes.
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte("coop:s3cret"))
		cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, reg.Host, auth)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		r := fast()
		r.Keychain = nil // the default: the user's credentials
		got, err := r.Resolve(context.Background(), refs(t, reg.Ref("private/engine:1")), []string{"linux/arm64"})
		if err != nil {
			t.Fatal(err)
		}
		if d := got[reg.Ref("private/engine:1")].Digest; d != idx.Digest.String() {
			t.Errorf("digest %s, want %s", d, idx.Digest)
		}
	})
}

// A registry that hangs: each attempt times out, is retried, and the error
// says so; nothing is returned for the images that did resolve.
func TestResolveSlowRegistry(t *testing.T) {
	var on atomic.Bool
	on.Store(true)
	reg := imagestest.NewRegistry(t, imagestest.Switch(&on, 0))
	imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	on.Store(false)
	p := &recorder{}
	r := fast()
	r.Timeout, r.Attempts, r.Progress = 50*time.Millisecond, 2, p
	got, err := r.Resolve(context.Background(), refs(t, reg.Ref("a/b:1")), []string{"linux/arm64"})
	if got != nil {
		t.Errorf("partial result %v", got)
	}
	assertOneError(t, err, reg.Ref("a/b:1"), "the registry did not answer within 50ms (gave up after 2 attempts)", true)
	if want := []string{"start " + reg.Ref("a/b:1"), "retry " + reg.Ref("a/b:1") + " 2", "done " + reg.Ref("a/b:1") + " error"}; strings.Join(p.events(), "|") != strings.Join(want, "|") {
		t.Errorf("progress %q, want %q", p.events(), want)
	}
}

func TestResolveFlakyRegistry(t *testing.T) {
	reg := imagestest.NewRegistry(t, imagestest.FailManifests(2, http.StatusServiceUnavailable))
	idx := imagestest.PushIndex(t, reg.Ref("a/b:1"), both)
	r := fast()
	r.Attempts = 3
	got, err := r.Resolve(context.Background(), refs(t, reg.Ref("a/b:1")), []string{"linux/arm64"})
	if err != nil {
		t.Fatalf("two 503s then success should resolve with 3 attempts: %v", err)
	}
	if got[reg.Ref("a/b:1")].Digest != idx.Digest.String() {
		t.Errorf("wrong digest")
	}
}

func TestResolveFailingRegistry(t *testing.T) {
	reg := imagestest.NewRegistry(t, imagestest.FailManifests(1000, http.StatusBadGateway))
	imagestest.PushIndex(t, reg.Ref("a/ok:1"), both)
	r := fast()
	r.Attempts = 3
	_, err := r.Resolve(context.Background(), refs(t, reg.Ref("a/ok:1")), []string{"linux/arm64"})
	assertOneError(t, err, reg.Ref("a/ok:1"), "the registry failed (502 Bad Gateway) (gave up after 3 attempts)", true)
}

// Every failure is reported, not only the first, and the images that
// resolved are not returned: a lock is all or nothing.
func TestResolveReportsEveryFailure(t *testing.T) {
	reg := imagestest.NewRegistry(t)
	imagestest.PushIndex(t, reg.Ref("a/ok:1"), both)
	imagestest.PushIndex(t, reg.Ref("a/amd:1"), []string{"linux/amd64"})
	got, err := fast().Resolve(context.Background(), refs(t, reg.Ref("a/ok:1"), reg.Ref("a/missing:1"), reg.Ref("a/amd:1")), []string{"linux/arm64"})
	var es resolve.Errors
	if got != nil || !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("got %v, %v; want two errors and no entries", got, err)
	}
	if es[0].Ref != reg.Ref("a/amd:1") || es[1].Ref != reg.Ref("a/missing:1") || es.Unreachable() {
		t.Errorf("errors %v", es)
	}
}

// Many images resolve with at most Parallel in flight, and all of them
// truly in parallel (the registry holds each request until Parallel are
// waiting, so a serial resolver would fail here, not just be slow).
func TestResolveBoundedParallelism(t *testing.T) {
	const n, limit = 24, 4
	var inFlight, peak atomic.Int64
	var armed atomic.Bool // set once the images are pushed
	var arrived atomic.Int64
	gate := make(chan struct{})
	counting := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !armed.Load() || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") {
				h.ServeHTTP(w, req)
				return
			}
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			if arrived.Add(1) == limit {
				close(gate) // the first `limit` requests are all waiting: let everyone through
			}
			select {
			case <-gate:
			case <-time.After(10 * time.Second):
			}
			h.ServeHTTP(w, req)
		})
	}
	reg := imagestest.NewRegistry(t, counting)
	var all []images.Ref
	for i := range n {
		ref := reg.Ref(fmt.Sprintf("many/img%02d:1", i))
		imagestest.PushImage(t, ref, "linux/arm64")
		all = append(all, refs(t, ref)...)
	}
	armed.Store(true)
	r := fast()
	r.Parallel = limit
	got, err := r.Resolve(context.Background(), all, []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Errorf("resolved %d of %d", len(got), n)
	}
	select {
	case <-gate:
	default:
		t.Errorf("never %d manifest requests at once: the images were not resolved in parallel", limit)
	}
	if p := peak.Load(); p != limit {
		t.Errorf("peak concurrent manifest requests = %d, want exactly %d", p, limit)
	}
}

func assertOneError(t *testing.T, err error, ref, want string, retryable bool) {
	t.Helper()
	var es resolve.Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("got %v, want one resolve error", err)
	}
	if es[0].Ref != ref || !strings.Contains(es[0].Error(), want) || es[0].Retryable != retryable {
		t.Errorf("got %q (retryable %v), want %s: …%s… (retryable %v)", es[0].Error(), es[0].Retryable, ref, want, retryable)
	}
}

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) Start(ref string) { r.add("start " + ref) }
func (r *recorder) Retry(ref string, next int, err error) {
	r.add(fmt.Sprintf("retry %s %d", ref, next))
}
func (r *recorder) Done(ref string, err error) {
	s := "done " + ref
	if err != nil {
		s += " error"
	}
	r.add(s)
}
func (r *recorder) add(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }
func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// A bundle's whole image may take longer than Timeout (layers are big); only
// each response must begin within it. A registry that answers every request
// in 100ms bundles an image, over several requests, with a 400ms Timeout.
func TestBundleTimeoutIsPerResponse(t *testing.T) {
	slow := imagestest.NewRegistry(t, imagestest.Latency(100*time.Millisecond))
	slowRef := slow.Ref("a/b:1")
	imagestest.PushIndex(t, slowRef, []string{"linux/arm64"})
	r := fast()
	r.Timeout, r.Attempts = 400*time.Millisecond, 1
	start := slow.Requests.Load()
	pins := []resolve.Pin{{Ref: parseRef(t, slowRef), Digest: mustDigest(t, r, slowRef)}}
	if err := r.Bundle(context.Background(), afero.NewMemMapFs(), "/usb", pins, "linux/arm64"); err != nil {
		t.Fatalf("bundle with a slow but steady registry: %v", err)
	}
	if n := slow.Requests.Load() - start; n < 5 {
		t.Fatalf("only %d requests: the test no longer proves that the whole fetch may outlast Timeout", n)
	}
}

func mustDigest(t *testing.T, r *resolve.Resolver, ref string) string {
	t.Helper()
	got, err := r.Resolve(context.Background(), refs(t, ref), []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	return got[parseRef(t, ref).Key()].Digest
}

// parseRef parses a reference a test knows to be good.
func parseRef(t testing.TB, ref string) images.Ref {
	t.Helper()
	r, err := images.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

package images_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/units"
)

const (
	vllm    = "docker.io/vllm/vllm-openai:v0.14.0"
	nginx   = "docker.io/library/nginx:1.27.4-alpine"
	sglang  = "docker.io/lmsysorg/sglang:v0.5.9"
	inline  = "quay.io/fedora/fedora-coreos@" + otherDigest
	arm64   = "linux/arm64"
	amd64   = "linux/amd64"
	nowDgst = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
)

func wanted(t *testing.T, refs ...string) []images.Wanted {
	t.Helper()
	var imgs []*units.Image
	for i, r := range refs {
		imgs = append(imgs, &units.Image{Ref: r, Origin: hcl.Range{Filename: "b.hcl", Start: hcl.Pos{Line: i + 1}}})
	}
	w, diags := images.WantedImages(imgs)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return w
}

func entry(ref, digest string, platforms map[string]string) *images.Entry {
	return &images.Entry{Ref: ref, Digest: digest, Kind: images.KindIndex, Source: images.SourceRegistry, Platforms: platforms}
}

func keys(refs []images.Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.String())
	}
	return out
}

// TestWantedImages: each reference once, sorted, and a reference that
// cannot be used is a diagnostic where it is named, with ParseRef's words.
func TestWantedImages(t *testing.T) {
	at := hcl.Range{Filename: "b.hcl", Start: hcl.Pos{Line: 7, Column: 3}}
	w, diags := images.WantedImages([]*units.Image{
		{Ref: vllm}, {Ref: "docker.io/nginx:1.27.4-alpine"}, {Ref: vllm}, {Ref: "vllm/vllm-openai:v1", Origin: at},
	})
	if len(diags) != 1 || diags[0].Summary != "Image without a registry" || diags[0].Subject == nil || *diags[0].Subject != at {
		t.Errorf("diagnostics: %v", diags)
	}
	var got []string
	for _, x := range w {
		got = append(got, x.Ref.Key())
	}
	if diff := cmp.Diff([]string{nginx, vllm}, got); diff != "" {
		t.Errorf("wanted (-want +got):\n%s", diff)
	}
}

// TestRefDiagnosticWrapped: the reference error keeps its summary when it
// arrives wrapped, and any other error still becomes a diagnostic instead
// of a panic.
func TestRefDiagnosticWrapped(t *testing.T) {
	_, err := images.ParseRef("")
	if d := images.RefDiagnostic(fmt.Errorf("image: %w", err), hcl.Range{}); d.Summary != "Missing image" {
		t.Errorf("wrapped: %+v", d)
	}
	if d := images.RefDiagnostic(errors.New("odd"), hcl.Range{}); d.Summary != "Invalid image reference" || d.Detail != "odd" {
		t.Errorf("other error: %+v", d)
	}
}

func TestUpdateKeys(t *testing.T) {
	w := wanted(t, vllm, "docker.io/nginx:1.27.4-alpine", inline)
	got, err := images.UpdateKeys(w, []string{"docker.io/nginx:1.27.4-alpine", vllm})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{nginx, vllm}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	_, err = images.UpdateKeys(w, []string{sglang})
	var unknown *images.UnknownUpdateError
	if !errors.As(err, &unknown) || unknown.Update != sglang {
		t.Fatalf("an update of an image the blueprint lacks: %v", err)
	}
	if want := "the blueprint has no image " + sglang + " pinned by tag (it has " + nginx + ", " + vllm + ")"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	// An inline digest is not pinned by the lock, so it cannot be updated.
	if _, err := images.UpdateKeys(w, []string{inline}); err == nil {
		t.Error("an update of an inline digest was accepted")
	}
}

func TestToResolve(t *testing.T) {
	lock := images.NewLock("b.lock.hcl")
	lock.Exists = true
	lock.Images[vllm] = entry(vllm, indexDigest, map[string]string{arm64: armDigest})
	lock.Images[nginx] = entry(nginx, indexDigest, map[string]string{amd64: armDigest}) // not for arm64
	lock.Images[sglang] = &images.Entry{Ref: sglang, Unpinned: "a test"}
	w := wanted(t, vllm, nginx, sglang, inline, "docker.io/a/new:v1")
	cases := []struct {
		name string
		req  images.LockRequest
		want []string
	}{
		{"full lock: all but the opt-out", images.LockRequest{},
			[]string{"docker.io/a/new:v1", nginx, vllm, inline}},
		{"check: all but the opt-out", images.LockRequest{Check: true},
			[]string{"docker.io/a/new:v1", nginx, vllm, inline}},
		{"update one: it, the inline digest, and what the lock lacks for the platform", images.LockRequest{Updates: []string{vllm}},
			[]string{"docker.io/a/new:v1", nginx, vllm, inline}},
		{"update the opt-out: it is resolved", images.LockRequest{Updates: []string{sglang}},
			[]string{"docker.io/a/new:v1", nginx, sglang, inline}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := keys(images.ToResolve(lock, w, arm64, tc.req))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("to resolve (-want +got):\n%s", diff)
			}
		})
	}
	// Everything locked for the platform: an update resolves only it.
	if got := keys(images.ToResolve(lock, wanted(t, vllm, sglang), arm64, images.LockRequest{Updates: []string{sglang}})); !cmp.Equal(got, []string{sglang}) {
		t.Errorf("update of one image resolved %v", got)
	}
}

// TestMergeLockAndChanges: resolved entries replace old ones, unresolved
// old ones stay, images the blueprint dropped go, and the changes say so.
func TestMergeLockAndChanges(t *testing.T) {
	old := images.NewLock("b.lock.hcl")
	old.Exists = true
	old.Images[vllm] = entry(vllm, indexDigest, map[string]string{arm64: armDigest})
	old.Images[nginx] = entry(nginx, indexDigest, map[string]string{arm64: armDigest})
	old.Images[sglang] = entry(sglang, indexDigest, map[string]string{arm64: armDigest})
	w := wanted(t, vllm, nginx, inline, "docker.io/a/new:v1")
	resolved := map[string]*images.Entry{
		vllm:                 entry(vllm, nowDgst, map[string]string{arm64: armDigest}),
		"docker.io/a/new:v1": entry("docker.io/a/new:v1", nowDgst, map[string]string{arm64: armDigest}),
		inline:               entry(inline, otherDigest, map[string]string{arm64: armDigest}),
	}
	next := images.MergeLock(old, w, resolved)
	if next.Path != old.Path {
		t.Errorf("path %q", next.Path)
	}
	got := map[string]string{}
	for k, e := range next.Images {
		got[k] = e.Digest
	}
	if diff := cmp.Diff(map[string]string{vllm: nowDgst, nginx: indexDigest, "docker.io/a/new:v1": nowDgst}, got); diff != "" {
		t.Errorf("merged lock (-want +got):\n%s", diff)
	}
	var changes []string
	for _, c := range images.LockChanges(old, next) {
		changes = append(changes, fmt.Sprint(c.Kind, " ", c.Key))
	}
	want := []string{fmt.Sprint(images.Added, " docker.io/a/new:v1"), fmt.Sprint(images.Moved, " "+vllm), fmt.Sprint(images.Dropped, " "+sglang)}
	if diff := cmp.Diff(want, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if images.NothingToLock(old, wanted(t, inline)) {
		t.Error("an existing lock with only inline digests left is 'nothing to lock'; it must be rewritten empty")
	}
	if !images.NothingToLock(images.NewLock("x"), wanted(t, inline)) {
		t.Error("inline digests and no lock file: there is nothing to lock")
	}
}

func TestCheckLock(t *testing.T) {
	old := images.NewLock("b.lock.hcl")
	old.Exists = true
	add := func(ref string, e *images.Entry) { old.Images[ref] = e }
	ok, moved, noPlat, platMoved, unres, other, unpinned, unused :=
		"r.example/ok:1", "r.example/moved:1", "r.example/noplat:1", "r.example/platmoved:1",
		"r.example/unres:1", "r.example/other:1", "r.example/unpinned:1", "r.example/unused:1"
	add(ok, entry(ok, indexDigest, map[string]string{arm64: armDigest}))
	add(moved, entry(moved, indexDigest, map[string]string{arm64: armDigest}))
	add(noPlat, entry(noPlat, indexDigest, map[string]string{amd64: armDigest}))
	add(platMoved, entry(platMoved, indexDigest, map[string]string{arm64: armDigest}))
	add(unres, entry(unres, indexDigest, map[string]string{arm64: images.Unresolved}))
	o := entry(other, indexDigest, map[string]string{arm64: armDigest})
	o.Source = "a public pin"
	add(other, o)
	add(unpinned, &images.Entry{Ref: unpinned, Unpinned: "a test"})
	add(unused, entry(unused, indexDigest, map[string]string{arm64: armDigest}))
	now := func(d, p string) *images.Entry { return entry("", d, map[string]string{arm64: p}) }
	resolved := map[string]*images.Entry{
		ok: now(indexDigest, armDigest), moved: now(nowDgst, armDigest), noPlat: now(indexDigest, armDigest),
		platMoved: now(indexDigest, nowDgst), unres: now(indexDigest, armDigest), other: now(indexDigest, armDigest),
		"r.example/new:1": now(indexDigest, armDigest), inline: now(otherDigest, armDigest),
	}
	w := wanted(t, ok, moved, noPlat, platMoved, unres, other, unpinned, "r.example/new:1", inline)
	got := map[string]images.CheckStatus{}
	stale := 0
	for _, c := range images.CheckLock(old, w, resolved, arm64) {
		got[c.Key] = c.Status
		if c.Status.Stale() {
			stale++
		}
	}
	want := map[string]images.CheckStatus{
		ok: images.CheckOK, moved: images.CheckMoved, noPlat: images.CheckNoPlatform, platMoved: images.CheckPlatformMoved,
		unres: images.CheckUnresolvedPlatform, other: images.CheckOtherSource, unpinned: images.CheckUnpinned,
		"r.example/new:1": images.CheckNotLocked, inline: images.CheckInline, unused: images.CheckUnused,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if stale != 4 {
		t.Errorf("%d stale, want 4 (moved, no platform, platform moved, not locked)", stale)
	}
}

// TestBundleImages: a bundle carries each pinned image once, by lock key,
// with the digest it is pinned to and where the blueprint names it; an
// unpinned one is listed apart, for a warning.
func TestBundleImages(t *testing.T) {
	at := hcl.Range{Filename: "b.hcl", Start: hcl.Pos{Line: 3}}
	tree := &units.Tree{Units: []*units.Unit{
		{Name: "a.container", Image: &units.Image{Ref: vllm, Pinned: "docker.io/vllm/vllm-openai@" + indexDigest, Origin: at}},
		{Name: "b.container", Image: &units.Image{Ref: vllm, Pinned: "docker.io/vllm/vllm-openai@" + indexDigest}},
		{Name: "c.container", Image: &units.Image{Ref: "docker.io/nginx:1.27.4-alpine", Pinned: "docker.io/library/nginx@" + armDigest}},
		{Name: "d.container", Image: &units.Image{Ref: sglang, Pinned: sglang}},
	}}
	pinned, unpinned, err := images.BundleImages(tree)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range pinned {
		got = append(got, w.Ref.String())
	}
	want := []string{nginx + "@" + armDigest, vllm + "@" + indexDigest}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundled (-want +got):\n%s", diff)
	}
	if pinned[1].Origin != at {
		t.Errorf("origin %v, want %v", pinned[1].Origin, at)
	}
	if diff := cmp.Diff([]string{sglang}, unpinned); diff != "" {
		t.Errorf("unpinned (-want +got):\n%s", diff)
	}
}

package images_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/units"
)

const (
	indexDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	armDigest   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	otherDigest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func TestParseRef(t *testing.T) {
	cases := []struct {
		in                 string
		want               images.Ref
		key, pinnedToIndex string
		wantErr            string
	}{
		{in: "docker.io/vllm/vllm-openai:v0.14.0", want: images.Ref{Repository: "docker.io/vllm/vllm-openai", Tag: "v0.14.0"},
			key: "docker.io/vllm/vllm-openai:v0.14.0", pinnedToIndex: "docker.io/vllm/vllm-openai@" + indexDigest},
		{in: "docker.io/vllm/vllm-openai:v0.14.0@" + otherDigest, want: images.Ref{Repository: "docker.io/vllm/vllm-openai", Tag: "v0.14.0", Digest: otherDigest},
			key: "docker.io/vllm/vllm-openai:v0.14.0", pinnedToIndex: "docker.io/vllm/vllm-openai@" + indexDigest},
		{in: "quay.io/fedora/fedora-coreos@" + otherDigest, want: images.Ref{Repository: "quay.io/fedora/fedora-coreos", Digest: otherDigest},
			key: "quay.io/fedora/fedora-coreos@" + otherDigest, pinnedToIndex: "quay.io/fedora/fedora-coreos@" + indexDigest},
		// docker.io's official images live under library/, as the registry names them.
		{in: "docker.io/nginx:1.27.4-alpine", want: images.Ref{Repository: "docker.io/library/nginx", Tag: "1.27.4-alpine"},
			key: "docker.io/library/nginx:1.27.4-alpine", pinnedToIndex: "docker.io/library/nginx@" + indexDigest},
		{in: "localhost:5000/x", want: images.Ref{Repository: "localhost:5000/x", Tag: "latest"},
			key: "localhost:5000/x:latest", pinnedToIndex: "localhost:5000/x@" + indexDigest},
		{in: "vllm/vllm-openai:v0.14.0", wantErr: "Image without a registry"},
		{in: "", wantErr: "Missing image"},
		{in: "docker.io/Bad Name:1", wantErr: "Invalid image reference"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := images.ParseRef(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRef(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if got.Key() != tc.key || got.At(indexDigest) != tc.pinnedToIndex {
				t.Errorf("Key() = %q, At() = %q; want %q, %q", got.Key(), got.At(indexDigest), tc.key, tc.pinnedToIndex)
			}
		})
	}
}

func sampleLock() *images.Lock {
	l := images.NewLock("bp.lock.hcl")
	l.Images["docker.io/vllm/vllm-openai:v0.14.0"] = &images.Entry{
		Ref: "docker.io/vllm/vllm-openai:v0.14.0", Tag: "v0.14.0", Digest: indexDigest, Kind: images.KindIndex,
		Source: "public pins in tinfoilsh/vllm-openai-audio", Platforms: map[string]string{"linux/arm64": images.Unresolved, "linux/amd64": armDigest},
	}
	l.Images["quay.io/a/b:1"] = &images.Entry{
		Ref: "quay.io/a/b:1", Tag: "1", Digest: otherDigest, Kind: images.KindManifest,
		Source: images.SourceRegistry, Platforms: map[string]string{"linux/arm64": otherDigest},
	}
	l.Images["nvcr.io/nim/x:1.0"] = &images.Entry{Ref: "nvcr.io/nim/x:1.0", Tag: "1.0", Unpinned: "no public digest", Platforms: map[string]string{}}
	return l
}

// The lock is written sorted and stable, reads back to the same pins, and
// writing what was read gives the same bytes.
func TestLockRoundTrip(t *testing.T) {
	l := sampleLock()
	b := l.Bytes()
	got, _, diags := images.ParseLock(b, "bp.lock.hcl")
	if diags.HasErrors() {
		t.Fatalf("parsing what Bytes wrote: %s\n%s", diags.Error(), b)
	}
	if diff := cmp.Diff(l.Images, got.Images, cmpIgnoreRanges); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if again := got.Bytes(); string(again) != string(b) {
		t.Errorf("not stable:\n%s\n---\n%s", b, again)
	}
	s := string(b)
	// Sorted by reference; platforms sorted; provenance spelled out.
	if !(strings.Index(s, `"docker.io/vllm`) < strings.Index(s, `"nvcr.io/`) && strings.Index(s, `"nvcr.io/`) < strings.Index(s, `"quay.io/`)) {
		t.Errorf("entries not sorted:\n%s", s)
	}
	if strings.Index(s, `"linux/amd64"`) > strings.Index(s, `"linux/arm64"`) {
		t.Errorf("platforms not sorted:\n%s", s)
	}
	for _, want := range []string{
		"# Not resolved by `sovereign lock` here: pinned from public pins in\n# tinfoilsh/vllm-openai-audio.",
		"# The linux/arm64 manifest digest is unresolved",
		`digest = "unresolved"`,
		"# UNPINNED by an explicit opt-out",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("lock file lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "Not resolved by") != 1 {
		t.Errorf("only the entry not resolved here should say so:\n%s", s)
	}
}

var cmpIgnoreRanges = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".DeclRange" }, cmp.Ignore())

func TestLockPath(t *testing.T) {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "bps/gb300.hcl", nil, 0o644)
	_ = fsys.MkdirAll("coop", 0o755)
	for target, want := range map[string]string{"bps/gb300.hcl": "bps/gb300.lock.hcl", "coop": "coop/sovereign.lock.hcl"} {
		got, err := images.LockPath(fsys, target)
		if err != nil || got != want {
			t.Errorf("LockPath(%q) = %q, %v; want %q", target, got, err, want)
		}
	}
}

// Each broken lock file is one error at its own place.
func TestParseLockErrors(t *testing.T) {
	cases := []struct{ name, src, summary string }{
		{"bad digest", `image "quay.io/a/b:1" {
  tag = "1"
  digest = "sha256:abc"
  kind = "index"
}`, "Invalid digest"},
		{"tag mismatch", `image "quay.io/a/b:1" {
  tag = "2"
  digest = "` + indexDigest + `"
  kind = "index"
}`, "Tag does not match the reference"},
		{"no kind", `image "quay.io/a/b:1" {
  tag = "1"
  digest = "` + indexDigest + `"
}`, "Invalid kind"},
		{"bad platform digest", `image "quay.io/a/b:1" {
  tag = "1"
  digest = "` + indexDigest + `"
  kind = "index"
  platform "linux/arm64" { digest = "latest" }
}`, "Invalid digest"},
		{"label with digest", `image "quay.io/a/b:1@` + indexDigest + `" {
  tag = "1"
}`, "Invalid image reference in the lock file"},
		{"unpinned with digest", `image "quay.io/a/b:1" {
  tag = "1"
  unpinned = "why"
  digest = "` + indexDigest + `"
}`, "Unpinned image with a digest"},
		{"duplicate", `image "quay.io/a/b:1" {
  tag = "1"
  unpinned = "why"
}
image "quay.io/a/b:1" {
  tag = "1"
  unpinned = "why"
}`, "Duplicate image in the lock file"},
		{"unknown attribute", `image "quay.io/a/b:1" {
  tag = "1"
  unpinned = "why"
  version = "3"
}`, "Unsupported argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lock, _, diags := images.ParseLock([]byte(tc.src), "x.lock.hcl")
			if lock != nil || len(diags) != 1 || diags[0].Summary != tc.summary || diags[0].Subject == nil {
				t.Fatalf("got lock %v, diags %v; want one error %q with a subject", lock != nil, diags, tc.summary)
			}
		})
	}
}

func treeWith(refs ...string) *units.Tree {
	tree := &units.Tree{}
	for i, r := range refs {
		tree.Units = append(tree.Units, &units.Unit{
			Name:  string(rune('a'+i)) + ".container",
			Image: &units.Image{Ref: r, Origin: hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: 10 + i, Column: 3}}},
		})
	}
	return tree
}

// Pin: what build does with each image, by the lock and the host platform.
func TestPin(t *testing.T) {
	lock := sampleLock()
	lock.Exists, lock.Blueprint = true, "bp.hcl"
	cases := []struct {
		name, ref, platform string
		lock                *images.Lock
		wantPinned          string
		wantSeverity        hcl.DiagnosticSeverity // 0: none
		wantSummary         string
		wantInDetail        []string
	}{
		{name: "locked index, platform digest unresolved", ref: "docker.io/vllm/vllm-openai:v0.14.0", platform: "linux/arm64", lock: lock,
			wantPinned: "docker.io/vllm/vllm-openai@" + indexDigest},
		{name: "locked single manifest", ref: "quay.io/a/b:1", platform: "linux/arm64", lock: lock, wantPinned: "quay.io/a/b@" + otherDigest},
		{name: "inline digest without a lock", ref: "quay.io/c/d:2@" + armDigest, platform: "linux/arm64", lock: nil, wantPinned: "quay.io/c/d@" + armDigest},
		{name: "inline digest agreeing with the lock", ref: "docker.io/vllm/vllm-openai:v0.14.0@" + indexDigest, platform: "linux/arm64", lock: lock,
			wantPinned: "docker.io/vllm/vllm-openai@" + indexDigest},
		{name: "inline digest contradicting the lock", ref: "docker.io/vllm/vllm-openai:v0.14.0@" + otherDigest, platform: "linux/arm64", lock: lock,
			wantSeverity: hcl.DiagError, wantSummary: "Image pinned twice, differently", wantInDetail: []string{indexDigest, otherDigest, "sovereign lock bp.hcl --update docker.io/vllm/vllm-openai:v0.14.0"}},
		{name: "no lock file", ref: "quay.io/a/b:1", platform: "linux/arm64", lock: &images.Lock{Path: "bp.lock.hcl", Blueprint: "bp.hcl", Images: map[string]*images.Entry{}},
			wantSeverity: hcl.DiagError, wantSummary: "Image not locked", wantInDetail: []string{"no lock file bp.lock.hcl", "`sovereign lock bp.hcl`"}},
		{name: "missing from the lock", ref: "quay.io/a/b:2", platform: "linux/arm64", lock: lock,
			wantSeverity: hcl.DiagError, wantSummary: "Image not locked", wantInDetail: []string{"bp.lock.hcl does not pin it", "`sovereign lock bp.hcl`"}},
		{name: "locked for another platform", ref: "quay.io/a/b:1", platform: "linux/amd64", lock: lock,
			wantSeverity: hcl.DiagError, wantSummary: "Image not locked for linux/amd64", wantInDetail: []string{"for linux/arm64", "host is linux/amd64", "`sovereign lock bp.hcl --update quay.io/a/b:1`"}},
		{name: "explicit opt-out", ref: "nvcr.io/nim/x:1.0", platform: "linux/arm64", lock: lock, wantPinned: "nvcr.io/nim/x:1.0",
			wantSeverity: hcl.DiagWarning, wantSummary: "Image runs UNPINNED", wantInDetail: []string{`"no public digest"`}},
		{name: "short name", ref: "vllm/vllm-openai:v0.14.0", platform: "linux/arm64", lock: lock, wantSeverity: hcl.DiagError, wantSummary: "Image without a registry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tree := treeWith(tc.ref)
			diags := images.Pin(tree, tc.lock, tc.platform)
			img := tree.Images()[0]
			if img.Pinned != tc.wantPinned {
				t.Errorf("Pinned = %q, want %q", img.Pinned, tc.wantPinned)
			}
			if tc.wantSeverity == 0 {
				if len(diags) != 0 {
					t.Fatalf("unexpected diagnostics: %v", diags)
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics %v, want one", len(diags), diags)
			}
			d := diags[0]
			if d.Severity != tc.wantSeverity || d.Summary != tc.wantSummary {
				t.Errorf("got %v %q, want %v %q", d.Severity, d.Summary, tc.wantSeverity, tc.wantSummary)
			}
			if d.Subject == nil || *d.Subject != img.Origin {
				t.Errorf("subject = %v, want the image attribute %v", d.Subject, img.Origin)
			}
			for _, w := range tc.wantInDetail {
				if !strings.Contains(d.Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, d.Detail)
				}
			}
		})
	}
}

func TestReadLock(t *testing.T) {
	fsys := afero.NewMemMapFs()
	_ = afero.WriteFile(fsys, "bp.hcl", nil, 0o644)
	lock, _, diags := images.ReadLock(fsys, "bp.hcl")
	if diags.HasErrors() || lock.Exists || lock.Path != "bp.lock.hcl" || lock.Blueprint != "bp.hcl" {
		t.Fatalf("missing lock: %+v %v", lock, diags)
	}
	_ = afero.WriteFile(fsys, "bp.lock.hcl", sampleLock().Bytes(), 0o644)
	lock, _, diags = images.ReadLock(fsys, "bp.hcl")
	if diags.HasErrors() || !lock.Exists || len(lock.Images) != 3 {
		t.Fatalf("lock: %+v %v", lock, diags)
	}
	_ = afero.WriteFile(fsys, "bp.lock.hcl", []byte("image {"), 0o644)
	if _, _, diags = images.ReadLock(fsys, "bp.hcl"); !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Filename != "bp.lock.hcl" {
		t.Fatalf("broken lock: %v", diags)
	}
}

package commands_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/imagestest"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// lockBlueprint is a small appliance running one engine from image on
// hardware (dgx-station-gb300 is linux/arm64, h100 clouds linux/amd64).
func lockBlueprint(t *testing.T, dir, hardware, image string) string {
	t.Helper()
	src := `appliance "coop" {
  hardware = "` + hardware + `"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = "awq-int4"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "` + image + `"
  # The in-process registry serves test images, not vLLM's repository.
  custom_image = true

  kv_cache_dtype = "fp8"
}
`
	p := filepath.Join(dir, "bp.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type run struct {
	code           int
	stdout, stderr string
}

func sovereign(t *testing.T, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := commands.Main(context.Background(), args, &out, &errb, afero.NewOsFs(), nil)
	return run{code, out.String(), errb.String()}
}

func (r run) must(t *testing.T, code int, stdoutHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	// Diagnostics wrap at 100 columns: compare words, not line breaks.
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, s := range stdoutHas {
		if !strings.Contains(words(r.stdout+"\n"+r.stderr), words(s)) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

// hermetic keeps the user's registry credentials out of the test.
func hermetic(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(t.TempDir(), "auth.json"))
}

func readLock(t *testing.T, path string) *images.Lock {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, _, diags := images.ParseLock(b, path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return l
}

// The whole life of a lock: lock, build from it offline, check it, see a
// moved tag fail the check, update it.
func TestLockBuildCheckUpdate(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	ref := reg.Ref("vllm/vllm-openai:v0.14.0")
	idx := imagestest.PushIndex(t, ref, []string{"linux/amd64", "linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	lockPath := filepath.Join(dir, "bp.lock.hcl")

	// Build refuses the tag before there is a lock.
	sovereign(t, "build", bp, "-o", filepath.Join(dir, "out")).must(t, 1, "Image not locked", "sovereign lock "+bp)

	sovereign(t, "lock", bp).must(t, 0, "Wrote "+lockPath+": 1 image(s) pinned for linux/arm64", "+ "+ref+"  "+idx.Digest.String())
	e := readLock(t, lockPath).Images[ref]
	if e == nil || e.Digest != idx.Digest.String() || e.Platforms["linux/arm64"] != idx.Digests["linux/arm64"].String() || e.Source != images.SourceRegistry || len(e.Platforms) != 1 {
		t.Fatalf("lock entry %+v, want index %s and arm64 %s", e, idx.Digest, idx.Digests["linux/arm64"])
	}
	lockBytes, _ := os.ReadFile(lockPath)

	// Locking again changes nothing.
	sovereign(t, "lock", bp).must(t, 0, "is up to date")

	// Build pins from the lock, by the index digest.
	out := filepath.Join(dir, "out")
	sovereign(t, "build", bp, "-o", out).must(t, 0)
	unit, err := os.ReadFile(filepath.Join(out, "rootfs/etc/containers/systemd/vllm-main.container"))
	if err != nil {
		t.Fatal(err)
	}
	wantImage := "Image=" + reg.Host + "/vllm/vllm-openai@" + idx.Digest.String() + "\n"
	if !strings.Contains(string(unit), wantImage) {
		t.Errorf("unit lacks %q:\n%s", wantImage, unit)
	}

	sovereign(t, "lock", bp, "--check").must(t, 0, "ok          "+ref, "holds")

	// The tag moves: --check fails with 1 and writes nothing.
	moved := imagestest.PushIndex(t, ref, []string{"linux/amd64", "linux/arm64"})
	sovereign(t, "lock", bp, "--check").must(t, 1, "MOVED       "+ref+" "+idx.Digest.String()+" -> "+moved.Digest.String(), "out of date")
	if after, _ := os.ReadFile(lockPath); !bytes.Equal(after, lockBytes) {
		t.Errorf("--check changed the lock file")
	}

	// --update takes the new digest.
	sovereign(t, "lock", bp, "--update", ref).must(t, 0, "~ "+ref+"  "+idx.Digest.String()+" -> "+moved.Digest.String())
	if d := readLock(t, lockPath).Images[ref].Digest; d != moved.Digest.String() {
		t.Errorf("after --update the lock says %s, want %s", d, moved.Digest)
	}
	sovereign(t, "lock", bp, "--update", reg.Ref("other/image:1")).must(t, 2, "the blueprint has no image")
}

// Platform truth at lock time, and at build time a lock made for another
// platform is refused.
func TestLockPlatform(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	amdOnly := reg.Ref("engines/amd-only:1")
	imagestest.PushIndex(t, amdOnly, []string{"linux/amd64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", amdOnly)
	sovereign(t, "lock", bp).must(t, 1, "Cannot resolve image", "its index has no linux/arm64 image (it has linux/amd64)", "on "+bp+" line 17")
	if _, err := os.Stat(filepath.Join(dir, "bp.lock.hcl")); err == nil {
		t.Errorf("a failed lock wrote a lock file")
	}

	// Locked for an amd64 host, then the hardware changes to the GB300.
	both := reg.Ref("engines/both:1")
	imagestest.PushIndex(t, both, []string{"linux/amd64", "linux/arm64"})
	bp = lockBlueprint(t, dir, "h100-80gb-sxm", both)
	if r := sovereign(t, "lock", bp); r.code != 0 {
		t.Skipf("no amd64 hardware called h100-80gb-sxm in the catalog: %s", r.stderr)
	}
	bp = lockBlueprint(t, dir, "dgx-station-gb300", both)
	sovereign(t, "build", bp, "-o", filepath.Join(dir, "out")).must(t, 1, "Image not locked for linux/arm64", "pins "+both+" for linux/amd64", "sovereign lock "+bp+" --update "+both)
}

// An unreachable or failing registry is exit 3, and leaves the lock file
// as it was.
func TestLockRegistryFailures(t *testing.T) {
	hermetic(t)
	var up atomic.Bool
	up.Store(true)
	reg := imagestest.NewRegistry(t, imagestest.Switch(&up, http.StatusServiceUnavailable))
	ref := reg.Ref("a/b:1")
	imagestest.PushIndex(t, ref, []string{"linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	sovereign(t, "lock", bp).must(t, 0)
	before, _ := os.ReadFile(filepath.Join(dir, "bp.lock.hcl"))

	up.Store(false)
	r := sovereign(t, "lock", bp, "--attempts", "2", "--timeout", "5s")
	r.must(t, 3, "the registry failed (503 Service Unavailable)", "trying again (attempt 2)", "nothing was written")
	sovereign(t, "lock", bp, "--check", "--attempts", "1").must(t, 3)
	if after, _ := os.ReadFile(filepath.Join(dir, "bp.lock.hcl")); !bytes.Equal(before, after) {
		t.Errorf("a failed lock changed the lock file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("a failed lock left files behind: %v", entries)
	}
}

func TestLockAuthRequired(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t, imagestest.BasicAuth("coop", "s3cret"))
	ref := reg.Ref("private/engine:1")
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	sovereign(t, "lock", bp).must(t, 3, "the registry refused access (401 Unauthorized)", "podman login "+reg.Host)
}

// Bundle round trip: the images as the lock pins them, for the host's
// platform only, in an OCI layout that go-containerregistry reads back with
// the same digests; and the build's load unit passes the unit validators.
func TestBundleRoundTrip(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	ref := reg.Ref("vllm/vllm-openai:v0.14.0")
	idx := imagestest.PushIndex(t, ref, []string{"linux/amd64", "linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	sovereign(t, "lock", bp).must(t, 0)
	bundle := filepath.Join(dir, "usb")
	sovereign(t, "bundle", bp, "-o", bundle).must(t, 0, "Bundled 1 image(s) for linux/arm64")

	p, err := layout.FromPath(bundle)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != idx.Digest || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != ref {
		t.Fatalf("index.json %+v, want the index %s named %s", im.Manifests, idx.Digest, ref)
	}
	got, err := top.ImageIndex(idx.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != idx.Digest {
		t.Errorf("bundled index digest %s, want %s", d, idx.Digest)
	}
	arm, err := got.Image(idx.Digests["linux/arm64"])
	if err != nil {
		t.Fatalf("the arm64 image is not in the bundle: %v", err)
	}
	if d, _ := arm.Digest(); d != idx.Digests["linux/arm64"] {
		t.Errorf("bundled arm64 digest %s, want %s", d, idx.Digests["linux/arm64"])
	}
	if err := validate.Image(arm); err != nil {
		t.Errorf("the bundled arm64 image does not validate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(bundle, "blobs/sha256", idx.Digests["linux/amd64"].Hex)); err == nil {
		t.Errorf("the amd64 image was bundled for an arm64 host")
	}

	// A second run resumes: nothing to fetch, same index.json.
	before, _ := os.ReadFile(filepath.Join(bundle, "index.json"))
	sovereign(t, "bundle", bp, "-o", bundle).must(t, 0)
	if after, _ := os.ReadFile(filepath.Join(bundle, "index.json")); !bytes.Equal(before, after) {
		t.Errorf("index.json changed on a second run")
	}

	out := filepath.Join(dir, "out")
	sovereign(t, "build", bp, "-o", out, "--image-bundle", "SOVEREIGN").must(t, 0)
	unit, err := os.ReadFile(filepath.Join(out, "rootfs/etc/systemd/system", images.LoadService))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Before=vllm-main.service\n",
		"ExecStartPre=/usr/bin/mount -o ro /dev/disk/by-label/SOVEREIGN " + images.BundleMount + "\n",
		"ExecStart=/usr/bin/skopeo copy --preserve-digests oci:" + images.BundleMount + ":" + ref + " containers-storage:" + ref + "\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("load unit lacks %q:\n%s", want, unit)
		}
	}
	if n := peers.VerifyUnits(t, filepath.Join(out, "rootfs")); n < 2 {
		t.Errorf("verified %d units, want the engine and the load unit at least", n)
	}
	sovereign(t, "build", bp, "-o", out, "--image-bundle", "no/slashes").must(t, 2, "--image-bundle")
}

// An image with no trustworthy digest runs only by an explicit opt-out in
// the lock, which every build warns about and the unit records; `lock`
// keeps the opt-out rather than pinning behind the person's back.
func TestUnpinnedOptOut(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	ref := reg.Ref("nim/llama:1.13.1")
	imagestest.PushIndex(t, ref, []string{"linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	lockPath := filepath.Join(dir, "bp.lock.hcl")
	optOut := `image "` + ref + `" {
  tag      = "1.13.1"
  unpinned = "no trustworthy public digest for this NIM yet"
}
`
	if err := os.WriteFile(lockPath, []byte(optOut), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := sovereign(t, "build", bp, "-o", out)
	r.must(t, 0, "Warning: Image runs UNPINNED", `"no trustworthy public digest for this NIM yet"`)
	unit, err := os.ReadFile(filepath.Join(out, "rootfs/etc/containers/systemd/vllm-main.container"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "Image="+ref+"\n") {
		t.Errorf("unit does not run the tag:\n%s", unit)
	}

	sovereign(t, "lock", bp).must(t, 0)
	if e := readLock(t, lockPath).Images[ref]; e.Unpinned == "" || e.Digest != "" {
		t.Errorf("lock replaced the opt-out: %+v", e)
	}
	sovereign(t, "lock", bp, "--check").must(t, 0, "UNPINNED    "+ref)
	// Naming the image pins it.
	sovereign(t, "lock", bp, "--update", ref).must(t, 0, "~ "+ref+"  unpinned -> sha256:")
	if e := readLock(t, lockPath).Images[ref]; e.Unpinned != "" || e.Digest == "" {
		t.Errorf("--update did not pin the image: %+v", e)
	}
}

// Inline digests need no lock; lock still checks them for the platform and
// writes no empty lock file.
func TestLockInlineOnly(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	idx := imagestest.PushIndex(t, reg.Ref("a/b:1"), []string{"linux/amd64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", reg.Ref("a/b:1@"+idx.Digest.String()))
	sovereign(t, "lock", bp).must(t, 1, "its index has no linux/arm64 image")
	idx = imagestest.PushIndex(t, reg.Ref("a/b:1"), []string{"linux/amd64", "linux/arm64"})
	bp = lockBlueprint(t, dir, "dgx-station-gb300", reg.Ref("a/b:1@"+idx.Digest.String()))
	sovereign(t, "lock", bp).must(t, 0, "Nothing to lock")
	sovereign(t, "lock", bp, "--check").must(t, 0, "(inline digest; exists for linux/arm64)")
	if _, err := os.Stat(filepath.Join(dir, "bp.lock.hcl")); err == nil {
		t.Errorf("an empty lock file was written")
	}
}

// A registry that fails half-way through a bundle: exit 3, and no
// index.json, so the bundle cannot pass for complete; the next run resumes.
func TestBundleRegistryFails(t *testing.T) {
	hermetic(t)
	var up atomic.Bool
	up.Store(true)
	reg := imagestest.NewRegistry(t, imagestest.Switch(&up, http.StatusBadGateway))
	ref := reg.Ref("a/b:1")
	imagestest.PushIndex(t, ref, []string{"linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	sovereign(t, "lock", bp).must(t, 0)
	up.Store(false)
	bundle := filepath.Join(dir, "usb")
	sovereign(t, "bundle", bp, "-o", bundle, "--attempts", "1").must(t, 3, "502 Bad Gateway", "the bundle is incomplete")
	if _, err := os.Stat(filepath.Join(bundle, "index.json")); err == nil {
		t.Errorf("a failed bundle wrote index.json")
	}
	up.Store(true)
	sovereign(t, "bundle", bp, "-o", bundle).must(t, 0, "Bundled 1 image(s)")
}

// A folder blueprint's lock is FOLDER/sovereign.lock.hcl; --check names
// entries the blueprint no longer uses, which the next lock drops.
func TestLockFolderBlueprint(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	oldRef, newRef := reg.Ref("a/engine:1"), reg.Ref("a/engine:2")
	imagestest.PushIndex(t, oldRef, []string{"linux/arm64"})
	imagestest.PushIndex(t, newRef, []string{"linux/arm64"})
	dir := filepath.Join(t.TempDir(), "coop")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lockBlueprint(t, dir, "dgx-station-gb300", oldRef)
	sovereign(t, "lock", dir).must(t, 0, "Wrote "+filepath.Join(dir, "sovereign.lock.hcl"))
	sovereign(t, "build", dir, "-o", filepath.Join(dir, "..", "out")).must(t, 0)

	lockBlueprint(t, dir, "dgx-station-gb300", newRef)
	sovereign(t, "lock", dir, "--check").must(t, 1, "not locked  "+newRef, "unused      "+oldRef)
	sovereign(t, "lock", dir).must(t, 0, "+ "+newRef, "- "+oldRef+"  (no longer in the blueprint)")
	if l := readLock(t, filepath.Join(dir, "sovereign.lock.hcl")); len(l.Images) != 1 || l.Images[newRef] == nil {
		t.Errorf("lock after the change: %v", l.Images)
	}
}

// --update takes a reference as people write it.
func TestLockUpdateNormalisesTheReference(t *testing.T) {
	hermetic(t)
	reg := imagestest.NewRegistry(t)
	ref := reg.Ref("library/nginx:1")
	imagestest.PushIndex(t, ref, []string{"linux/arm64"})
	dir := t.TempDir()
	bp := lockBlueprint(t, dir, "dgx-station-gb300", ref)
	sovereign(t, "lock", bp).must(t, 0)
	sovereign(t, "lock", bp, "--update", reg.Host+"/library/nginx:1").must(t, 0, "is up to date")
	sovereign(t, "lock", bp, "--check", "--update", ref).must(t, 2, "--check verifies every pin")
	sovereign(t, "bundle", bp).must(t, 2, "bundle needs -o DIR")
}

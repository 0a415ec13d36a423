package appliance_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/images/imagestest"
	"github.com/sovereign-collective/sovereign/images/resolve"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

var platforms = []string{"linux/amd64", "linux/arm64"}

// newRegistry starts an in-process registry and pushes a synthetic base OS
// image: an OCI index with one random three-layer image per platform. It
// returns the registry host and the base's digest reference.
func newRegistry(t *testing.T) (host, base string) {
	t.Helper()
	r := imagestest.NewRegistry(t)
	return r.Host, r.PushBootableBase(t, "fedora/fedora-coreos:stable", platforms)
}

// kitchenSink builds the reference blueprint with two engines, a data disk
// and a secret API key.
func kitchenSink(t *testing.T, env ...string) *pipeline.Result {
	t.Helper()
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	env = append([]string{"SOVEREIGN_TEST_API_KEY=sk-kitchen-sink-secret"}, env...)
	res, diags := pipeline.Build(p, "../../tests/testdata/blueprints/kitchen-sink", lang.Inputs{Env: env})
	if diags.HasErrors() {
		t.Fatalf("building kitchen-sink: %s", diags.Error())
	}
	return res
}

func build(t *testing.T, base, platform string, res *pipeline.Result) v1.Image {
	t.Helper()
	b, err := resolve.FetchBase(context.Background(), base, platform)
	if err != nil {
		t.Fatal(err)
	}
	img, err := appliance.Build(b, res.Tree, res.Rootfs, appliance.Options{
		Appliance: res.Blueprint.Appliance.Name, Hardware: "test", Version: "test",
		Base: base, Platform: platform,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("the appliance image is not valid: %v", err)
	}
	return img
}

type tarEntry struct {
	typ    byte
	mode   int64
	uid    int
	sha256 string
	target string
	data   []byte
}

func readLayer(t *testing.T, l v1.Layer) map[string]tarEntry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]tarEntry{}
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		p := "/" + strings.TrimSuffix(h.Name, "/")
		if !h.ModTime.Equal(appliance.Epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %s uid %d gid %d, want the epoch and root", p, h.ModTime, h.Uid, h.Gid)
		}
		names = append(names, p)
		out[p] = tarEntry{typ: h.Typeflag, mode: h.Mode, uid: h.Uid, sha256: hex.EncodeToString(sum[:]), target: h.Linkname, data: b}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("layer entries not sorted: %s before %s", names[i-1], names[i])
		}
	}
	return out
}

// TestApplianceImage: for both platforms the image is the base plus exactly
// one layer, and that layer holds every non-secret file of manifest.json
// with its mode and digest, no secret, and nothing else but the folders,
// links and the tmpfiles config it documents.
func TestApplianceImage(t *testing.T) {
	_, base := newRegistry(t)
	res := kitchenSink(t)
	var manifest []output.ManifestEntry
	if err := json.Unmarshal(res.Manifest, &manifest); err != nil {
		t.Fatal(err)
	}
	secrets := 0
	for _, m := range manifest {
		if m.Secret {
			secrets++
		}
	}
	if secrets == 0 {
		t.Fatal("kitchen-sink has no secret file; the test would not check that secrets stay out")
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			baseImg, err := resolve.FetchBase(context.Background(), base, platform)
			if err != nil {
				t.Fatal(err)
			}
			img := build(t, base, platform, res)
			baseLayers, _ := baseImg.Layers()
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != len(baseLayers)+1 {
				t.Fatalf("%d layers, want the base's %d plus one", len(layers), len(baseLayers))
			}
			for i, bl := range baseLayers {
				bd, _ := bl.Digest()
				d, _ := layers[i].Digest()
				if bd != d {
					t.Errorf("base layer %d changed: %s, was %s", i, d, bd)
				}
			}
			mt, _ := layers[len(layers)-1].MediaType()
			if mt != types.OCILayer {
				t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got := cf.OS + "/" + cf.Architecture; got != platform {
				t.Errorf("image platform %s, want %s", got, platform)
			}
			if cf.Config.Labels[appliance.LabelAppliance] != res.Blueprint.Appliance.Name || cf.Config.Labels["containers.bootc"] != "1" {
				t.Errorf("labels %v lack the appliance name or the base's bootc label", cf.Config.Labels)
			}

			entries := readLayer(t, layers[len(layers)-1])
			seen := map[string]bool{}
			for _, m := range manifest {
				p := appliance.ImagePath(m.Path)
				e, ok := entries[p]
				if m.Secret {
					if ok {
						t.Errorf("secret %s is in the image", m.Path)
					}
					continue
				}
				seen[p] = true
				if !ok {
					t.Errorf("%s (manifest) missing from the layer", p)
					continue
				}
				if e.typ != tar.TypeReg || fmt.Sprintf("%04o", e.mode) != m.Mode || e.sha256 != m.SHA256 || len(e.data) != m.Size {
					t.Errorf("%s: type %c mode %04o sha256 %s size %d; manifest says mode %s sha256 %s size %d", p, e.typ, e.mode, e.sha256, len(e.data), m.Mode, m.SHA256, m.Size)
				}
			}
			for p, e := range entries {
				switch {
				case seen[p], e.typ == tar.TypeDir, e.typ == tar.TypeSymlink:
				case p == appliance.TmpfilesConf:
				default:
					t.Errorf("%s is in the layer but not in manifest.json", p)
				}
				for _, f := range res.Rootfs {
					if f.Secret && bytes.Contains(e.data, f.Contents) {
						t.Errorf("%s carries the contents of secret %s", p, f.Path)
					}
				}
			}
			if e := entries["/etc/containers/systemd"]; e.typ != tar.TypeDir || e.mode != 0o755 {
				t.Errorf("parent folder /etc/containers/systemd: %+v", e)
			}
			// The enabled CDI unit gets the symlink systemctl enable makes.
			link := "/etc/systemd/system/multi-user.target.wants/" + units.CDIService
			if e := entries[link]; e.typ != tar.TypeSymlink || e.target != "/etc/systemd/system/"+units.CDIService {
				t.Errorf("%s: %+v, want a symlink to the unit", link, e)
			}
		})
	}
}

// TestReproducible: two builds from scratch give the same digest, which is
// also the digest the registry stores; a changed blueprint gives another
// digest, and only the appliance layer differs.
func TestReproducible(t *testing.T) {
	host, base := newRegistry(t)
	a := build(t, base, "linux/arm64", kitchenSink(t))
	b := build(t, base, "linux/arm64", kitchenSink(t))
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two builds: %s and %s", da, db)
	}
	pushed, err := resolve.Push(context.Background(), a, host+"/coop/appliance:v1")
	if err != nil {
		t.Fatal(err)
	}
	if pushed.DigestStr() != da.String() {
		t.Errorf("pushed as %s, built %s", pushed, da)
	}
	back, err := remote.Image(pushed)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("the pushed image is not valid: %v", err)
	}

	// A different blueprint input: another secret changes nothing in the
	// image (secrets are not in it); another engine image does.
	c := build(t, base, "linux/arm64", kitchenSink(t, "SOVEREIGN_TEST_API_KEY=sk-another"))
	if dc, _ := c.Digest(); dc != da {
		t.Errorf("a changed secret changed the image digest (%s → %s); secrets must not be in the image", da, dc)
	}
	res := kitchenSink(t)
	for _, f := range res.Rootfs {
		if f.Path == "/etc/hostname" {
			f.Contents = []byte("other\n")
		}
	}
	d := build(t, base, "linux/arm64", res)
	dd, _ := d.Digest()
	if dd == da {
		t.Fatal("a changed rootfs file left the digest unchanged")
	}
	la, _ := a.Layers()
	ld, _ := d.Layers()
	for i := range la {
		x, _ := la[i].Digest()
		y, _ := ld[i].Digest()
		if (x == y) != (i < len(la)-1) {
			t.Errorf("layer %d: %s vs %s; only the last layer may differ", i, x, y)
		}
	}
	if got := readLayer(t, ld[len(ld)-1])["/etc/hostname"].data; string(got) != "other\n" {
		t.Errorf("/etc/hostname in the new layer: %q", got)
	}
}

// TestLayout: the OCI layout written through afero is one go-containerregistry
// reads back as the same, valid image, under the tag's name.
func TestLayout(t *testing.T) {
	_, base := newRegistry(t)
	img := build(t, base, "linux/amd64", kitchenSink(t))
	dir := t.TempDir()
	if err := appliance.WriteLayout(afero.NewOsFs(), dir, img, "registry.example.org/coop/appliance:v7"); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v7" {
		t.Fatalf("index.json: %+v, want one manifest %s named v7", im.Manifests, want)
	}
	back, err := p.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("layout image not valid: %v", err)
	}
	info, err := appliance.Describe(img, "registry.example.org/coop/appliance:v7", appliance.Options{Base: base, Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Pinned(); got != "registry.example.org/coop/appliance@"+want.String() {
		t.Errorf("Pinned() = %s", got)
	}
}

// TestEntries covers the /var rules: folders become tmpfiles lines, files
// under /var and /usr/local are stored under VarStore and linked.
func TestEntries(t *testing.T) {
	tree := &units.Tree{
		Files: []*units.File{
			{Path: "/usr/local/libexec/sovereign/probe", Mode: 0o755, Contents: []byte("#!/bin/sh\n")},
			{Path: "/etc/sovereign/secrets/key.env", Mode: 0o600, Contents: []byte("KEY=x\n"), Secret: true},
			{Path: "/etc/app.conf", Mode: 0o640, Contents: []byte("a\n")},
		},
		Directories: []*units.Directory{{Path: "/var/lib/sovereign", Mode: 0o750}, {Path: "/etc/sovereign", Mode: 0o700}},
		Links:       []*units.Link{{Path: "/etc/localtime", Target: "../usr/share/zoneinfo/UTC"}},
	}
	rootfs, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := appliance.Entries(tree, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%c %04o %s %s", e.Type, e.Mode, e.Path, e.Target))
	}
	want := []string{
		"5 0700 /etc/sovereign ",
		"0 0640 /etc/app.conf ",
		"2 0777 /etc/localtime ../usr/share/zoneinfo/UTC",
		"5 0755 /usr ",
		"5 0755 /usr/lib ",
		"5 0755 /usr/lib/sovereign ",
		"5 0755 /usr/lib/sovereign/var ",
		"5 0755 /usr/lib/sovereign/var/usrlocal ",
		"5 0755 /usr/lib/sovereign/var/usrlocal/libexec ",
		"5 0755 /usr/lib/sovereign/var/usrlocal/libexec/sovereign ",
		"0 0755 /usr/lib/sovereign/var/usrlocal/libexec/sovereign/probe ",
		"5 0755 /usr/lib/tmpfiles.d ",
		"0 0644 /usr/lib/tmpfiles.d/sovereign-appliance.conf ",
		"5 0755 /etc ",
	}
	// Sorted by path.
	want = []string{want[13], want[1], want[2], want[0], want[3], want[4], want[5], want[6], want[7], want[8], want[9], want[10], want[11], want[12]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	conf := string(entries[len(entries)-1].Data)
	for _, line := range []string{
		"d /var/usrlocal/libexec 0755 root root -",
		"d /var/usrlocal/libexec/sovereign 0755 root root -",
		"L+ /var/usrlocal/libexec/sovereign/probe - - - - /usr/lib/sovereign/var/usrlocal/libexec/sovereign/probe",
		"d /var/lib/sovereign 0750 root root -",
	} {
		if !strings.Contains(conf, line+"\n") {
			t.Errorf("tmpfiles config lacks %q:\n%s", line, conf)
		}
	}
}

func TestFetchBaseNeedsDigest(t *testing.T) {
	host, _ := newRegistry(t)
	_, err := resolve.FetchBase(context.Background(), host+"/fedora/fedora-coreos:stable", "linux/arm64")
	if err == nil || !strings.Contains(err.Error(), "must be pinned") {
		t.Fatalf("a tag-only base: %v, want a refusal", err)
	}
	_, base := newRegistry(t)
	if _, err := resolve.FetchBase(context.Background(), base, "linux/s390x"); err == nil {
		t.Fatal("a base without the host's platform was accepted")
	}
}

// TestTmpfilesApply applies the layer's tmpfiles config with the real
// systemd-tmpfiles into a scratch root holding the layer, as Fedora CoreOS
// does at every boot: each /usr/local file becomes a link to its copy in the
// deployment, and the /var folders exist with their modes.
func TestTmpfilesApply(t *testing.T) {
	tmpfiles, err := exec.LookPath("systemd-tmpfiles")
	if err != nil {
		t.Skip("systemd-tmpfiles not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles chowns what it creates; needs root")
	}
	tree := &units.Tree{
		Files: []*units.File{
			{Path: "/usr/local/libexec/sovereign/wan-probe", Mode: 0o755, Contents: []byte("#!/bin/sh\n")},
			{Path: "/var/lib/sovereign/seed.conf", Mode: 0o644, Contents: []byte("x\n")},
		},
		Directories: []*units.Directory{{Path: "/var/lib/sovereign", Mode: 0o755}, {Path: "/var/lib/sovereign/update", Mode: 0o700}},
	}
	rootfs, err := tree.Rootfs()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := appliance.Entries(tree, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// Fedora CoreOS: /usr/local is a link into /var.
	os.MkdirAll(filepath.Join(root, "var/usrlocal"), 0o755)
	os.MkdirAll(filepath.Join(root, "usr"), 0o755)
	os.Symlink("../var/usrlocal", filepath.Join(root, "usr/local"))
	for _, e := range entries {
		p := filepath.Join(root, e.Path)
		switch e.Type {
		case tar.TypeDir:
			os.MkdirAll(p, os.FileMode(e.Mode))
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, e.Data, os.FileMode(e.Mode)); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := exec.Command(tmpfiles, "--root="+root, "--create", filepath.Join(root, appliance.TmpfilesConf)).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for link, want := range map[string]string{
		"var/usrlocal/libexec/sovereign/wan-probe": "/usr/lib/sovereign/var/usrlocal/libexec/sovereign/wan-probe",
		"var/lib/sovereign/seed.conf":              "/usr/lib/sovereign/var/lib/sovereign/seed.conf",
	} {
		got, err := os.Readlink(filepath.Join(root, link))
		if err != nil || got != want {
			t.Errorf("/%s → %q (%v), want → %q", link, got, err, want)
		}
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("the link target %s is not in the layer: %v", want, err)
		}
	}
	// Through Fedora CoreOS's /usr/local link, the path the units use.
	if _, err := os.Lstat(filepath.Join(root, "usr/local/libexec/sovereign/wan-probe")); err != nil {
		t.Errorf("/usr/local/libexec/sovereign/wan-probe: %v", err)
	}
	for dir, mode := range map[string]os.FileMode{"var/lib/sovereign": 0o755, "var/lib/sovereign/update": 0o700} {
		fi, err := os.Stat(filepath.Join(root, dir))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != mode {
			t.Errorf("/%s: %v %v, want a folder %v", dir, fi, err, mode)
		}
	}
	// Applying again (every boot) changes nothing and says nothing.
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", filepath.Join(root, appliance.TmpfilesConf)).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("second run: %v\n%s", err, out)
	}
}

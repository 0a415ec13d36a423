package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
	"github.com/sovereign-collective/sovereign/images/appliance"
	"github.com/sovereign-collective/sovereign/images/imagestest"
)

// imageRegistry starts an in-process registry holding a synthetic base OS
// image for amd64 and arm64 and returns its host and pinned base reference.
func imageRegistry(t *testing.T) (host, base string) {
	t.Helper()
	r := imagestest.NewRegistry(t)
	return r.Host, r.PushBootableBase(t, "fedora/fedora-coreos:stable", []string{"linux/amd64", "linux/arm64"})
}

type cli struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) cli {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb, afero.NewOsFs(), []string{"SOVEREIGN_TEST_API_KEY=sk-kitchen-sink-secret"})
	return cli{code, out.String(), errb.String()}
}

const kitchenSink = "../../../tests/testdata/blueprints/kitchen-sink"

func readImageInfo(t *testing.T, out string) appliance.Info {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "image.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info appliance.Info
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = fi.Mode().String() + " " + string(b)
		return nil
	})
	return files
}

// TestBuildImage: build --image --push writes the image and a config that
// switches to it, pushes exactly that digest, is byte-for-byte reproducible,
// and --diff-against/diff report the new image and exactly the changed file.
func TestBuildImage(t *testing.T) {
	host, base := imageRegistry(t)
	dir := t.TempDir()
	repo := host + "/coop/appliance"
	out1, out2, out3 := filepath.Join(dir, "out1"), filepath.Join(dir, "out2"), filepath.Join(dir, "out3")

	r := runCLI(t, "build", kitchenSink, "-o", out1, "--image", repo+":v1", "--base", base, "--push")
	if r.code != 0 {
		t.Fatalf("build --image --push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	info := readImageInfo(t, out1)
	if info.Platform != "linux/arm64" || info.Reference != repo+":v1" {
		t.Errorf("image.json: %+v", info)
	}
	desc, err := remote.Head(mustRef(t, repo+":v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != info.Digest {
		t.Errorf("pushed %s, image.json says %s", desc.Digest, info.Digest)
	}
	if !strings.Contains(r.stdout, "Pushed "+repo+"@"+info.Digest) {
		t.Errorf("stdout does not report the push:\n%s", r.stdout)
	}
	lp, err := layout.FromPath(filepath.Join(out1, "image"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := lp.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("out/image: %v", err)
	}
	ign, _ := os.ReadFile(filepath.Join(out1, "ignition.json"))
	if !bytes.Contains(ign, []byte("ostree-unverified-registry:"+repo+"@"+info.Digest)) {
		t.Errorf("ignition.json does not switch to %s@%s", repo, info.Digest)
	}
	if bytes.Contains(ign, []byte("vllm-big.container")) {
		t.Error("image-mode ignition.json writes the engines' Quadlets, which belong to the image")
	}

	if r := runCLI(t, "build", kitchenSink, "-o", out2, "--image", repo+":v1", "--base", base); r.code != 0 {
		t.Fatalf("second build: exit %d\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(readDir(t, out1), readDir(t, out2)); diff != "" {
		t.Errorf("two image-mode builds differ (-first +second):\n%s", diff)
	}

	r = runCLI(t, "build", kitchenSink, "-o", out3, "--image", repo+":v2", "--base", base, "-var", "site=other", "--diff-against", out1)
	if r.code != 0 {
		t.Fatalf("build --diff-against: exit %d\n%s", r.code, r.stderr)
	}
	info3 := readImageInfo(t, out3)
	if info3.Digest == info.Digest {
		t.Fatal("a changed hostname left the image digest unchanged")
	}
	for _, want := range []string{"Appliance image:\n  " + repo + ":v1@" + info.Digest + "\n  → " + repo + ":v2@" + info3.Digest, "~ /etc/hostname", "sudo /usr/libexec/sovereign/update " + repo + "@" + info3.Digest} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--diff-against output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runCLI(t, "diff", out1, out3, "--json")
	if r.code != 0 {
		t.Fatalf("diff --json: exit %d\n%s", r.code, r.stderr)
	}
	var rep diff.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range rep.Files {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"/etc/hostname", "/etc/sovereign/manifest"}, paths); diff != "" {
		t.Errorf("changed files (-want +got):\n%s", diff)
	}
	if rep.ApplianceImage == nil || !strings.HasSuffix(rep.ApplianceImage.New, info3.Digest) {
		t.Errorf("appliance image change: %+v", rep.ApplianceImage)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBuildImageErrors: wrong flags are usage errors (2), an unreachable
// registry an external failure (3), and neither writes the output.
func TestBuildImageErrors(t *testing.T) {
	_, base := imageRegistry(t)
	out := filepath.Join(t.TempDir(), "out")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"push without image", []string{"--push"}, ExitUsage, "--push needs --image"},
		{"timer without image", []string{"--update-timer", "daily"}, ExitUsage, "--update-timer needs --image"},
		{"image by digest", []string{"--image", "registry.example.org/a@sha256:" + strings.Repeat("a", 64)}, ExitUsage, "names a digest"},
		{"base by tag", []string{"--image", "registry.example.org/a:v1", "--base", "quay.io/fedora/fedora-coreos:stable"}, ExitUsage, "must be pinned"},
		{"json without diff", []string{"--json"}, ExitUsage, "--json needs --diff-against"},
		{"registry unreachable", []string{"--image", "registry.example.org/a:v1", "--base", "127.0.0.1:1/fcos@" + strings.Split(base, "@")[1]}, ExitExternal, "fetching the base image"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"build", kitchenSink, "-o", out}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
	if r := runCLI(t, "diff", t.TempDir(), out); r.code != ExitInvalid || !strings.Contains(r.stderr, "Empty blueprint folder") {
		t.Errorf("diff of non-outputs: exit %d\n%s", r.code, r.stderr)
	}
}

package commands_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
	"github.com/sovereign-collective/sovereign/images/imagestest"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// The base Fedora CoreOS image and its kernel as the stand-in base says.
const (
	fcosRepo    = "quay.io/fedora/fedora-coreos"
	fcosTag     = "42.20250721.3.0"
	standinKVer = "6.15.0-200.fc42.x86_64"
)

// standin plays, inside the stand-in base, the tools of Fedora CoreOS that
// the OS image build calls (dnf, rpm, curl, dkms, modinfo, systemctl,
// bootc). It logs every call to /var/log/standin.log, "installs" the NVIDIA
// driver package it is asked for (a libcuda.so.VERSION and the module's
// license and version for modinfo) and answers rpm's queries. Everything
// else — the Containerfile, install.sh, check-nvidia.sh, buildah — is real.
const standin = `#!/bin/sh
tool=${0##*/}
echo "$tool $*" >>/var/log/standin.log
case $tool in
rpm)
	case "$*" in
	*_arch*) echo x86_64 ;;
	*kernel-core*) echo ` + standinKVer + ` ;;
	*nvidia-container-toolkit*) echo 1.18.0 ;;
	esac ;;
dnf)
	for p; do
		case $p in
		nvidia-open-*) v=${p#nvidia-open-}; echo "Dual MIT/GPL" >/var/lib/standin-license ;;
		cuda-drivers-*) v=${p#cuda-drivers-}; echo NVIDIA >/var/lib/standin-license ;;
		*) continue ;;
		esac
		echo "$v" >/var/lib/standin-version
		mkdir -p /usr/lib64 && touch "/usr/lib64/libcuda.so.$v"
	done ;;
curl)
	while [ $# -gt 0 ]; do [ "$1" = -o ] && { echo "# $*" >"$2"; shift; }; shift; done ;;
modinfo)
	case "$*" in
	*license*) cat /var/lib/standin-license ;;
	*version*) cat /var/lib/standin-version ;;
	esac ;;
esac
`

// standinBase is a linux/amd64 image of busybox-static, the stand-in tools
// and what the build reads of a Fedora CoreOS image (/etc/os-release, one
// kernel in /usr/lib/modules).
func standinBase(t *testing.T) v1.Image {
	t.Helper()
	busybox, err := os.ReadFile(peers.Tool(t, "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	add := func(h *tar.Header, body []byte) {
		if seen[h.Name] {
			return
		}
		seen[h.Name] = true
		h.Size = int64(len(body))
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeDir {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"bin", "etc", "etc/yum.repos.d", "tmp", "usr", "usr/bin", "usr/lib", "usr/lib/modules", "usr/lib/modules/" + standinKVer, "usr/libexec", "var", "var/lib", "var/log", "var/cache"} {
		add(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, busybox)
	// The shell is dash with its libraries: busybox's own sh runs its
	// applets before the PATH, so it would never call the stand-in rpm.
	for _, f := range dash(t) {
		dirs := strings.Split(strings.TrimPrefix(filepath.Dir(f.path), "/"), "/")
		for i := range dirs {
			add(&tar.Header{Name: strings.Join(dirs[:i+1], "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
		}
		add(&tar.Header{Name: strings.TrimPrefix(f.path, "/"), Typeflag: tar.TypeReg, Mode: 0o755}, f.body)
	}
	add(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "dash"}, nil)
	for _, applet := range []string{"cat", "echo", "mkdir", "touch", "rm", "tail", "head", "sort", "printf", "basename", "ls", "test", "["} {
		add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}, nil)
	}
	add(&tar.Header{Name: "usr/bin/standin", Typeflag: tar.TypeReg, Mode: 0o755}, []byte(standin))
	for _, tool := range []string{"dnf", "rpm", "curl", "dkms", "modinfo", "systemctl", "bootc"} {
		add(&tar.Header{Name: "usr/bin/" + tool, Typeflag: tar.TypeSymlink, Linkname: "standin"}, nil)
	}
	add(&tar.Header{Name: "etc/os-release", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=42\n"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/bin:/bin"}
	cf.Config.Labels = map[string]string{"containers.bootc": "1", "ostree.bootable": "true"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

type fileBody struct {
	path string
	body []byte
}

// dash is the dash shell of this machine and the libraries ldd says it loads.
func dash(t *testing.T) []fileBody {
	t.Helper()
	bin := peers.Tool(t, "dash")
	out, err := exec.Command(peers.Tool(t, "ldd"), bin).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", bin, err)
	}
	paths := []string{bin}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") {
			paths = append(paths, f)
		}
	}
	var files []fileBody
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		if p == bin {
			p = "/bin/dash"
		}
		files = append(files, fileBody{p, b})
	}
	return files
}

// buildahEnv is the environment buildah runs with in the test: its own
// storage (vfs, which needs no kernel overlay support) and registries.conf
// sending quay.io's Fedora CoreOS to the in-process registry, over plain
// HTTP like every pull and push to it. The production code passes the
// environment through untouched: this is how a user points buildah at a
// mirror too.
func buildahEnv(t *testing.T, reg *imagestest.Registry) []string {
	t.Helper()
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage.conf")
	writeFile(t, storage, "[storage]\ndriver = \"vfs\"\ngraphroot = \""+filepath.Join(dir, "root")+"\"\nrunroot = \""+filepath.Join(dir, "run")+"\"\n")
	auth := filepath.Join(dir, "auth.json")
	writeFile(t, auth, "{}\n")
	registries := filepath.Join(dir, "registries.conf")
	writeFile(t, registries, `unqualified-search-registries = []

[[registry]]
prefix = "`+fcosRepo+`"
location = "`+reg.Host+`/fedora/fedora-coreos"
insecure = true

[[registry]]
location = "`+reg.Host+`"
insecure = true
`)
	return append(os.Environ(),
		"CONTAINERS_STORAGE_CONF="+storage,
		"CONTAINERS_REGISTRIES_CONF="+registries,
		"REGISTRY_AUTH_FILE="+auth,
	)
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// osBlueprint is a small H100 appliance (linux/amd64, the machine the test
// runs on) with an os block, and its lock pinning the base to digest.
func osBlueprint(t *testing.T, dir, osExtra string, base v1.Hash) string {
	t.Helper()
	bp := filepath.Join(dir, "bp.hcl")
	writeFile(t, bp, `appliance "coop" {
  hardware = "h100-80gb-sxm"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
}

os {
  base          = "`+fcosRepo+`:`+fcosTag+`"
  nvidia_driver = "580.126.20"
`+osExtra+`}
`)
	writeFile(t, filepath.Join(dir, "bp.lock.hcl"), `image "`+fcosRepo+`:`+fcosTag+`" {
  tag    = "`+fcosTag+`"
  digest = "`+base.String()+`"
  kind   = "manifest"
  source = "registry"

  platform "linux/amd64" {
    digest = "`+base.String()+`"
  }
}
`)
	return bp
}

func sovereignEnv(t *testing.T, environ []string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := commands.Main(context.Background(), args, &out, &errb, afero.NewOsFs(), environ)
	return run{code, out.String(), errb.String()}
}

// `sovereign os build` builds the rendered Containerfile with Debian's
// buildah for real — FROM the pinned base by digest, the build context's
// scripts copied and run, the open-module check, the CDI refresh enabled,
// bootc's lint last — pushes it and pins its digest in the lock, and a
// build then takes the pin, until the os block changes. The base is a
// busybox image made here and served by the in-process registry; the
// package installation that needs Fedora's and NVIDIA's repositories is
// left unrun: dnf, rpm and the other tools of the base are stand-ins that
// log their calls, which the test reads back from the pushed image.
func TestOSBuildWithBuildah(t *testing.T) {
	s := newOSBuildSetup(t)
	reg, environ, dir, bp, lockPath, baseDigest := s.reg, s.environ, s.dir, s.bp, s.lockPath, s.baseDigest
	push := reg.Ref("coop/os:580")

	r := sovereignEnv(t, environ, "os", "build", bp, "--push", push, "--isolation", "chroot")
	r.must(t, 0, "Built and pushed the host OS image "+reg.Host+"/coop/os@sha256:", "Pinned it in "+lockPath)
	for _, progress := range []string{"for linux/amd64 with buildah ", "STEP 1/", "FROM " + fcosRepo + "@" + baseDigest.String(), "Pushing to " + push} {
		if !strings.Contains(r.stderr, progress) {
			t.Errorf("stderr lacks the progress %q:\n%s", progress, r.stderr)
		}
	}
	entry := readLock(t, lockPath).OS
	if entry == nil {
		t.Fatalf("the lock has no os entry:\n%s", readFileString(t, lockPath))
	}
	if entry.Ref != push || entry.Platform != "linux/amd64" || entry.Base != fcosRepo+"@"+baseDigest.String() ||
		entry.Driver != "580.126.20 open" || !strings.HasPrefix(entry.Builder, "buildah 1.") || !strings.HasPrefix(entry.Context, "sha256:") {
		t.Errorf("os entry %+v", entry)
	}
	if got := strings.Join(entry.Packages, " "); got != "dkms nvidia-container-toolkit" {
		t.Errorf("os entry packages %q", got)
	}

	// The registry holds the image the lock names, built for amd64 on the base.
	img, err := remote.Image(mustRef(t, entry.Pinned()))
	if err != nil {
		t.Fatalf("the pinned image %s is not in the registry: %v", entry.Pinned(), err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS+"/"+cf.Architecture != "linux/amd64" || cf.Config.Labels["org.sovereign-collective.os.packages"] != "dkms nvidia-container-toolkit" {
		t.Errorf("image config: platform %s/%s, labels %v", cf.OS, cf.Architecture, cf.Config.Labels)
	}
	files := imageFiles(t, img)
	for _, f := range []string{"usr/libexec/sovereign-os/install.sh", "usr/libexec/sovereign-os/check-nvidia.sh", "usr/lib64/libcuda.so.580.126.20"} {
		if _, ok := files[f]; !ok {
			t.Errorf("the image lacks /%s", f)
		}
	}
	log := files["var/log/standin.log"]
	for _, call := range []string{
		"dnf -y install kernel-devel-6.15.0-200.fc42 dkms nvidia-container-toolkit",
		"dnf -y install nvidia-open-580.126.20",
		"dkms autoinstall -k " + standinKVer,
		"modinfo -k " + standinKVer + " -F license nvidia",
		"systemctl enable nvidia-cdi-refresh.path nvidia-cdi-refresh.service",
	} {
		if !strings.Contains(log, call+"\n") {
			t.Errorf("the build never ran %q; the base's tools were called:\n%s", call, log)
		}
	}
	if !strings.HasSuffix(log, "bootc container lint\n") {
		t.Errorf("bootc container lint is not the last step:\n%s", log)
	}

	// A build takes the pin: no warning that the image is missing, and a
	// first-boot unit that rebases the host onto the image by digest,
	// ordered before the engine, which quadlet, systemd-analyze and
	// ignition-validate accept.
	out := filepath.Join(dir, "out")
	r = sovereignEnv(t, environ, "build", bp, "-o", out)
	r.must(t, 0)
	if strings.Contains(r.stderr, "not built yet") {
		t.Errorf("build warns of a missing OS image the lock pins:\n%s", r.stderr)
	}
	rebase := readFileString(t, filepath.Join(out, "rootfs/etc/systemd/system/sovereign-os-rebase.service"))
	for _, line := range []string{"Before=vllm-main.service\n", "Before=sovereign-nvidia-cdi.service\n", "ExecStart=/usr/local/libexec/sovereign/os-rebase " + entry.Pinned() + "\n"} {
		if !strings.Contains(rebase, line) {
			t.Errorf("the rebase unit lacks %q:\n%s", line, rebase)
		}
	}
	if n := peers.VerifyUnits(t, filepath.Join(out, "rootfs")); n == 0 {
		t.Error("no unit verified")
	}
	peers.IgnitionValidate(t, filepath.Join(out, "ignition.json"))

	// Image mode layers the appliance on the OS image, and rebases nothing.
	outImage := filepath.Join(dir, "out-image")
	sovereignEnv(t, environ, "build", bp, "-o", outImage, "--image", reg.Ref("coop/appliance:1")).must(t, 0, "on "+entry.Pinned())
	if info := readFileString(t, filepath.Join(outImage, "image.json")); !strings.Contains(info, `"base": "`+entry.Pinned()+`"`) {
		t.Errorf("image.json does not name the OS image as its base:\n%s", info)
	}
	if _, err := os.Stat(filepath.Join(outImage, "rootfs/etc/systemd/system/sovereign-os-rebase.service")); err == nil {
		t.Error("an image-mode build carries the rebase unit")
	}

	// The os block changes: build fails at the block, naming the fix, and
	// writes nothing.
	stale := filepath.Join(t.TempDir(), "stale")
	if err := os.CopyFS(stale, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	src := readFileString(t, filepath.Join(stale, "bp.hcl"))
	writeFile(t, filepath.Join(stale, "bp.hcl"), strings.Replace(src, "nvidia_driver = \"580.126.20\"\n", "nvidia_driver = \"580.126.20\"\n  packages      = [\"tmux\"]\n", 1))
	staleBP := filepath.Join(stale, "bp.hcl")
	line := strings.Count(src[:strings.Index(src, "\nos {")+1], "\n") + 1
	r = sovereignEnv(t, environ, "build", staleBP, "-o", filepath.Join(stale, "out2"))
	r.must(t, 1, "Host OS image out of date", "packages +tmux", "sovereign os build "+staleBP+" --push "+push)
	if !strings.Contains(r.stderr, "bp.hcl line "+strconv.Itoa(line)+", in os:") {
		t.Errorf("the error is not located at the os block (line %d):\n%s", line, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(stale, "out2")); err == nil {
		t.Error("a build with a stale OS image wrote its output")
	}
}

// Without buildah, or when the push fails, os build exits 3 with what to do
// and leaves the lock as it was.
func TestOSBuildFailuresLeaveTheLock(t *testing.T) {
	s := newOSBuildSetup(t)
	reg, environ, bp, lockPath := s.reg, s.environ, s.bp, s.lockPath
	before := readFileString(t, lockPath)

	noBuildah := []string{"PATH=" + t.TempDir()}
	sovereignEnv(t, noBuildah, "os", "build", bp, "--push", reg.Ref("coop/os:580")).must(t, 3, "there is none on the PATH", "apt-get install buildah", "nothing was written")

	// Nothing listens on port 1 of loopback.
	r := sovereignEnv(t, environ, "os", "build", bp, "--push", "127.0.0.1:1/coop/os:580", "--isolation", "chroot")
	r.must(t, 3, "pushing the host OS image to 127.0.0.1:1/coop/os:580 failed", "the lock file was not changed")

	if after := readFileString(t, lockPath); after != before {
		t.Errorf("a failed os build changed the lock:\n%s", after)
	}
	sovereignEnv(t, environ, "os", "build", bp).must(t, 2, "--push REGISTRY/REPOSITORY:TAG")
	sovereignEnv(t, environ, "os", "build", bp, "--push", reg.Ref("coop/os@sha256:"+strings.Repeat("0", 64))).must(t, 2, "must be REGISTRY/REPOSITORY:TAG")
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// imageFiles reads the image's flattened filesystem: regular files' contents
// by path.
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(h.Name, "/")] = string(b)
		}
	}
}

// osBuildSetup is what each os build test starts from: buildah on the PATH,
// the stand-in base pushed to an in-process registry under Fedora CoreOS's
// name, and a blueprint pinned to that base with its (empty) lock file.
type osBuildSetup struct {
	reg        *imagestest.Registry
	environ    []string
	dir        string
	bp         string
	lockPath   string
	baseDigest v1.Hash
}

func newOSBuildSetup(t *testing.T) osBuildSetup {
	t.Helper()
	hermetic(t)
	peers.Tool(t, "buildah")
	reg := imagestest.NewRegistry(t)
	base := standinBase(t)
	baseDigest, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, reg.Ref("fedora/fedora-coreos:"+fcosTag)), base); err != nil {
		t.Fatal(err)
	}
	environ := buildahEnv(t, reg)
	dir := t.TempDir()
	bp := osBlueprint(t, dir, "", baseDigest)
	lockPath := filepath.Join(dir, "bp.lock.hcl")
	return osBuildSetup{reg: reg, environ: environ, dir: dir, bp: bp, lockPath: lockPath, baseDigest: baseDigest}
}

package boot

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sovereign-collective/sovereign/units"
)

// One stand-in root filesystem takes the place of every image the
// appliance pins: pinned images cannot be pulled offline, and the engine's
// needs a GPU. It holds every stand-in program (the engine, oauth2-proxy,
// the metrics stack's servers), the host's nginx and a shell; a Quadlet
// drop-in runs each container from it (Rootfs=, in place of Image=) and
// says which program the container runs (its role). The containers keep
// everything else the appliance renders: command line, mounts, secrets,
// health check, network.
//
// A root filesystem, not an image: the guest would have to import an image
// into Podman's storage first, unpacking and hashing every byte on an
// emulated CPU (one to four minutes of the boot, before any container could
// start). With ":O" each container writes to an overlay of its own and the
// shared folder stays as the test made it.
const standinRootfs = kitDir + "/rootfs"

// role is what a container runs in the stand-in image.
type role struct {
	name string
	// engine marks the engine, which loads slowly on purpose.
	engine bool
	// entrypoint and user are what the real image sets (the drop-in sets
	// them unless the unit does).
	entrypoint, user string
}

// standinRole picks a container's role: the engine's by its unit, the
// gateway's by the image it pins, a plain server for the rest.
func standinRole(u *units.Unit, engine string) role {
	switch ref := u.Image.Ref; {
	case u.ServiceName() == engine:
		return role{name: "engine", engine: true, entrypoint: "/usr/local/bin/engine"}
	case strings.Contains(ref, "/nginx"):
		// The unit's command line starts with nginx.
		return role{name: "nginx"}
	case strings.Contains(ref, "/oauth2-proxy"):
		// The real image is distroless and runs as nonroot (65532).
		return role{name: "oauth2-proxy", entrypoint: "/bin/oauth2-proxy", user: "65532:65532"}
	default:
		// The metrics stack and anything else: a server that only
		// listens where the unit says.
		return role{name: "service", entrypoint: "/usr/local/bin/service"}
	}
}

// dropIn is the Quadlet drop-in that runs a container from the stand-in
// image in its role.
func (r role) dropIn(u *units.Unit, g *Guest) []string {
	// "Image=" empties the unit's image: Quadlet refuses Image and Rootfs
	// together. The image's PATH, which a root filesystem has no config
	// to carry, is set as the import of an image would.
	lines := []string{"[Container]", "Image=", "Rootfs=" + standinRootfs + ":O",
		"Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if r.entrypoint != "" && len(u.Get("Container", "Entrypoint")) == 0 {
		lines = append(lines, "Entrypoint="+r.entrypoint)
	}
	if r.user != "" && len(u.Get("Container", "User")) == 0 {
		lines = append(lines, "User="+r.user)
	}
	if r.engine {
		lines = append(lines, "Environment=SOVEREIGN_STANDIN_READY_AFTER="+g.EngineReadyAfter)
		if g.ReleaseEngine {
			lines = append(lines, "Volume="+releaseDir+":"+releaseMount+":ro",
				"Environment=SOVEREIGN_STANDIN_RELEASE="+releaseFileIf(true, releaseMount))
		}
	}
	return lines
}

// buildStandinRootfs writes the stand-in root filesystem at dir.
func buildStandinRootfs(g *Guest, dir string) error {
	if err := accounts(dir); err != nil {
		return err
	}
	for _, d := range []string{"tmp", "run", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o1777); err != nil {
			return err
		}
	}
	// The stand-in, by the names it acts on: the engine, python3 (which
	// the engine's health check calls), oauth2-proxy and a plain server.
	// One copy and hard links: the guest's disk is made from these files.
	names := []string{"usr/local/bin/engine", "usr/bin/python3", "bin/oauth2-proxy", "usr/local/bin/service"}
	if err := standinAs(g, dir, names[0]); err != nil {
		return err
	}
	for _, p := range names[1:] {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			return err
		}
		if err := os.Link(filepath.Join(dir, names[0]), filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	return nginxImage(dir)
}

// accounts writes the users the images run as: root, nobody and the
// distroless nonroot (65532).
func accounts(dir string) error {
	if err := writeFile(dir, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnonroot:x:65532:65532:nonroot:/home/nonroot:/bin/false\n", 0o644); err != nil {
		return err
	}
	return writeFile(dir, "etc/group", "root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\nnonroot:x:65532:\n", 0o644)
}

// standinAs puts the stand-in binary in the image at path.
func standinAs(g *Guest, dir, path string) error {
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
		return err
	}
	return copyFile(g.Standin, filepath.Join(dir, path), 0o755)
}

// nginxImage: the host's Debian nginx (the same program as the pinned
// image's nginx, another version and build) with its modules and the shared
// libraries they load, and busybox: the shell Podman runs a HealthCmd string
// with (/bin/sh -c), and the gateway health check's wget.
func nginxImage(dir string) error {
	nginx, err := lookPath("nginx", "the gateway's stand-in image is the host's nginx: apt-get install nginx")
	if err != nil {
		return err
	}
	bins := []string{nginx}
	modules, _ := filepath.Glob("/usr/lib/nginx/modules/*.so")
	bins = append(bins, modules...)
	for _, b := range bins {
		if err := withLibraries(b, dir); err != nil {
			return err
		}
	}
	// Module paths as the official image (/etc/nginx/modules) and Debian
	// (/usr/share/nginx/modules) spell them.
	for _, l := range []string{"etc/nginx/modules", "usr/share/nginx/modules"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, l)), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/usr/lib/nginx/modules", filepath.Join(dir, l)); err != nil {
			return err
		}
	}
	for _, d := range []string{"var/cache/nginx", "var/log/nginx", "var/lib/nginx"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return busybox(dir, "sh", "wget")
}

// lddPath finds the absolute paths in ldd's output.
var lddPath = regexp.MustCompile(`(?m)(/[^ \t\n]+) \(0x`)

// withLibraries copies a program (or module) and the shared libraries ldd
// says it loads into dir, each at its own path.
func withLibraries(bin, dir string) error {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", bin, err)
	}
	files := []string{bin}
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		files = append(files, m[1])
	}
	for _, f := range files {
		dst := filepath.Join(dir, f)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyFile(f, dst, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// busybox installs the host's static busybox as the named commands.
func busybox(dir string, applets ...string) error {
	bb, err := lookPath("busybox", "stand-in images get their shell from busybox: apt-get install busybox-static")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	if err := copyFile(bb, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			return err
		}
	}
	return nil
}

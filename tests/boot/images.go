package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sovereign-collective/sovereign/tests/boot/report"
)

// standinImage is an image the guest imports in place of one the appliance
// pins: pinned images cannot be pulled offline, and the engine's needs a GPU.
// A Quadlet drop-in points each of its containers at it; the containers keep
// everything else the appliance renders (command line, mounts, secrets,
// health check, network).
type standinImage struct {
	name  string
	units []string // the .container files that run it
	// engine marks the engine's stand-in, which loads slowly on purpose.
	engine bool
	// entrypoint and user are the image's; PATH is always set.
	entrypoint, user string
}

// containerStandins picks each container's stand-in: the engine's by its
// unit, the gateway's by the image it pins.
func containerStandins(g *Guest, cfg *report.Config) ([]*standinImage, error) {
	byName := map[string]*standinImage{}
	for _, u := range g.Tree.Units {
		if !u.IsQuadlet() || u.Image == nil {
			continue
		}
		var img *standinImage
		switch ref := u.Image.Ref; {
		case ServiceName(u) == cfg.Engine:
			img = &standinImage{name: "engine", engine: true, entrypoint: "/usr/local/bin/engine"}
		case strings.Contains(ref, "/nginx"):
			img = &standinImage{name: "nginx"}
		case strings.Contains(ref, "/oauth2-proxy"):
			// The real image is distroless and runs as nonroot (65532).
			img = &standinImage{name: "oauth2-proxy", entrypoint: "/bin/oauth2-proxy", user: "65532:65532"}
		default:
			// The metrics stack and anything else: a server that only
			// listens where the unit says.
			img = &standinImage{name: "service", entrypoint: "/usr/local/bin/service"}
		}
		if have, ok := byName[img.name]; ok {
			img = have
		}
		img.units = append(img.units, u.Name)
		byName[img.name] = img
	}
	var imgs []*standinImage
	for _, img := range byName {
		imgs = append(imgs, img)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].name < imgs[j].name })
	return imgs, nil
}

// changes are podman import's --change options, quoted for a unit's ExecStart.
func (img *standinImage) changes() string {
	c := []string{"--change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'"}
	if img.entrypoint != "" {
		c = append(c, fmt.Sprintf(`--change 'ENTRYPOINT=["%s"]'`, img.entrypoint))
	}
	if img.user != "" {
		c = append(c, "--change 'USER="+img.user+"'")
	}
	return strings.Join(c, " ")
}

// build writes the image's root filesystem as a tar file at out.
func (img *standinImage) build(ctx context.Context, log io.Writer, g *Guest, out string) error {
	dir, err := os.MkdirTemp("", "sovereign-boot-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := accounts(dir); err != nil {
		return err
	}
	for _, d := range []string{"tmp", "run", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o1777); err != nil {
			return err
		}
	}
	switch img.name {
	case "engine":
		err = engineImage(g, dir)
	case "nginx":
		err = nginxImage(dir)
	case "oauth2-proxy":
		err = standinAs(g, dir, "bin/oauth2-proxy")
	case "service":
		err = standinAs(g, dir, "usr/local/bin/service")
	}
	if err != nil {
		return err
	}
	return run(ctx, log, "", nil, "tar", "-C", dir, "--numeric-owner", "-cf", out, ".")
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

// engineImage: the stand-in as the engine's entrypoint and as python3 (the
// engine's health check), and a shell, since Podman runs a HealthCmd string
// with /bin/sh -c like the real image's.
func engineImage(g *Guest, dir string) error {
	for _, p := range []string{"usr/local/bin/engine", "usr/bin/python3"} {
		if err := standinAs(g, dir, p); err != nil {
			return err
		}
	}
	return busybox(dir, "sh")
}

// nginxImage: the host's Debian nginx (the same program as the pinned
// image's nginx, another version and build) with its modules and the shared
// libraries they load, and busybox for the health check's wget.
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

// Package boot boots what sovereign renders: a small Debian guest with
// systemd, Podman and its Quadlet generator built from the Go module proxy,
// the rendered ignition.json applied to it by Ignition's own files stage,
// stand-ins only where the real thing cannot run here (container images,
// nvidia-ctk, the GPU, the UPS), started under QEMU. A probe inside the guest
// (tests/boot/probe) reports what came up and what the gateway answered; the
// test (boot_test.go, build tag "boot", `make boot-test`) judges it.
//
// The slow parts are built once per machine and cached (Cache): the guest's
// base root (debootstrap) and the Podman, quadlet and runc binaries. Each
// entry is keyed by a stamp of everything that decides its contents.
package boot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Cache is the folder that keeps what the boot test builds between runs:
// $SOVEREIGN_BOOT_CACHE, else sovereign-boot under the user's cache folder
// ($XDG_CACHE_HOME or ~/.cache). It lives outside the repository so that
// tools walking the tree (gofmt, go vet) never walk a guest's root.
func Cache() (string, error) {
	if dir := os.Getenv("SOVEREIGN_BOOT_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "sovereign-boot"), nil
}

// stamp hashes the parts that decide a cached entry, so that changing any
// of them builds a new entry instead of reusing a stale one.
func stamp(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// cached returns dir when it holds a finished entry; otherwise it runs
// build into a scratch folder next to it and renames that into place, so an
// interrupted build never looks finished.
func cached(dir string, log io.Writer, build func(scratch string) error) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	scratch := dir + ".partial"
	if err := os.RemoveAll(scratch); err != nil {
		return "", err
	}
	if err := os.Mkdir(scratch, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "boot: building %s\n", dir)
	if err := build(scratch); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(scratch, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.Rename(scratch, dir)
}

// run runs a command, its output going to log; the error carries the
// command line.
func run(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// A test killed from outside takes its commands with it: a QEMU left
	// behind would run on, emulating a guest nobody waits for.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// goVersion is part of the runtime's stamp: another toolchain is another build.
func goVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "version").Output()
	return strings.TrimSpace(string(out)), err
}

// Runtime is Podman and what it needs that the guest's distribution cannot
// give: Podman 5 (Debian 12 has 4.3, without Quadlet 5's keys), its Quadlet
// generator and runc (Debian 12's crun 1.8 rejects Podman 5.7's OCI spec).
type Runtime struct {
	Podman, Quadlet, Runc string
}

// podmanTags are the build tags of Podman as distributions build it, minus
// the storage drivers and signature library the guest does not need; seccomp,
// systemd and sqlite link the guest's libraries (cgo).
const podmanTags = "grpcnotrace seccomp systemd libsqlite3 exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp"

// BuildRuntime builds the runtime from the versions pinned in
// tests/boot/runtime/go.mod (a module of its own, so its dependency tree
// stays out of sovereign's) into the cache, once per pin and toolchain.
// Podman and runc need cgo and the headers of libseccomp, libsystemd and
// libsqlite3.
func BuildRuntime(ctx context.Context, log io.Writer, cache, module string) (Runtime, error) {
	gomod, err := os.ReadFile(filepath.Join(module, "go.mod"))
	if err != nil {
		return Runtime{}, err
	}
	gosum, err := os.ReadFile(filepath.Join(module, "go.sum"))
	if err != nil {
		return Runtime{}, err
	}
	gov, err := goVersion(ctx)
	if err != nil {
		return Runtime{}, err
	}
	dir := filepath.Join(cache, "runtime-"+stamp(string(gomod), string(gosum), gov, podmanTags))
	dir, err = cached(dir, log, func(scratch string) error {
		for _, b := range []struct {
			out, pkg string
			env      []string
			tags     string
		}{
			{"podman", "github.com/containers/podman/v5/cmd/podman", []string{"CGO_ENABLED=1"}, podmanTags},
			{"quadlet", "github.com/containers/podman/v5/cmd/quadlet", []string{"CGO_ENABLED=0"}, podmanTags},
			{"runc", "github.com/opencontainers/runc", []string{"CGO_ENABLED=1"}, "seccomp"},
		} {
			if err := run(ctx, log, module, b.env, "go", "build", "-trimpath", "-tags", b.tags, "-o", filepath.Join(scratch, b.out), b.pkg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Runtime{}, err
	}
	return Runtime{Podman: filepath.Join(dir, "podman"), Quadlet: filepath.Join(dir, "quadlet"), Runc: filepath.Join(dir, "runc")}, nil
}

// Base is the guest's root before the appliance: a minimal Debian 12 with
// systemd, and the kernel and initramfs QEMU boots it with.
type Base struct {
	Root, Kernel, Initrd string
}

// guestPackages are what the guest needs besides Debian's minimal base:
// systemd and a kernel to boot; Podman's helpers that Debian 12 packages
// well enough (conmon, netavark, catatonit, the containers-common
// configuration); what the appliance's own units call (curl, ping, NUT for
// the UPS, NetworkManager for the uplinks), as Fedora CoreOS ships them.
var guestPackages = []string{
	"systemd", "systemd-sysv", "udev", "dbus", "kmod", "iproute2", "linux-image-amd64", "procps",
	"conmon", "netavark", "catatonit", "golang-github-containers-common", "libsqlite3-0", "libseccomp2",
	"curl", "ca-certificates", "iputils-ping", "nut-server", "nut-client", "network-manager",
	// polkitd (for NetworkManager) needs a logind, which debootstrap
	// does not pick among the alternatives by itself.
	"libpam-systemd",
}

// dpkgUnsafeIO is the dpkg setting that spares the fsync of every file
// unpacked; it is there only while debootstrap runs.
const dpkgUnsafeIO = "etc/dpkg/dpkg.cfg.d/sovereign-boot-test-unsafe-io"

// preseed are written into the guest's root before debootstrap installs
// anything, so that its packages' scripts read them.
//
// The kernel's package builds the initramfs, by default with most of the
// kernel's modules: with dpkg's trigger that made it twice, and on two busy
// cores it took 38 of debootstrap's 46 minutes. The guest only ever boots as
// QEMU's virtual machine, whose root is an ext4 file system on a virtio
// disk, so the initramfs carries just those modules (initramfs-tools(7),
// MODULES=list; the files in /usr/share/initramfs-tools/modules.d are
// loaded at boot). dpkg's unsafe-io spares an fsync per file; the build
// flushes once at its end instead.
var preseed = []struct{ path, contents string }{
	{"etc/initramfs-tools/conf.d/sovereign-boot-test.conf", "MODULES=list\nCOMPRESS=gzip\n"},
	{"usr/share/initramfs-tools/modules.d/sovereign-boot-test", "virtio_pci\nvirtio_blk\ncrc32c\next4\n"},
	{dpkgUnsafeIO, "force-unsafe-io\n"},
}

// guestSuite and guestMirror say which Debian the guest is.
const (
	guestSuite  = "bookworm"
	guestMirror = "http://deb.debian.org/debian"
)

// BuildBase makes the guest's base root in two cached steps: debootstrap
// (minutes; once per machine and package list), then a copy made to look
// like Fedora CoreOS where the appliance's config assumes so (fcosLike).
func BuildBase(ctx context.Context, log io.Writer, cache string) (Base, error) {
	include := strings.Join(guestPackages, ",")
	var seeds []string
	for _, f := range preseed {
		seeds = append(seeds, f.path, f.contents)
	}
	key := stamp(append([]string{guestSuite, guestMirror, include}, seeds...)...)
	debian, err := cached(filepath.Join(cache, "debootstrap-"+key), log, func(scratch string) error {
		root := filepath.Join(scratch, "root")
		if err := debootstrap(ctx, log, include, root, filepath.Join(cache, "debs")); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(root, dpkgUnsafeIO)); err != nil {
			return err
		}
		if err := run(ctx, log, "", nil, "chroot", root, "apt-get", "clean"); err != nil {
			return err
		}
		// One flush of the whole file system instead of dpkg's one per file.
		return run(ctx, log, "", nil, "sync", "--file-system", root)
	})
	if err != nil {
		return Base{}, err
	}
	dir, err := cached(filepath.Join(cache, "base-"+stamp(debian, fcosLikeVersion)), log, func(scratch string) error {
		root := filepath.Join(scratch, "root")
		if err := run(ctx, log, "", nil, "cp", "-a", filepath.Join(debian, "root"), root); err != nil {
			return err
		}
		if err := fcosLike(ctx, log, root); err != nil {
			return err
		}
		for _, k := range []struct{ glob, out string }{{"vmlinuz-*", "vmlinuz"}, {"initrd.img-*", "initrd.img"}} {
			found, err := filepath.Glob(filepath.Join(root, "boot", k.glob))
			if err != nil || len(found) != 1 {
				return fmt.Errorf("want one /boot/%s in the guest, found %q (%v)", k.glob, found, err)
			}
			if err := copyFile(found[0], filepath.Join(scratch, k.out), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Base{}, err
	}
	return Base{Root: filepath.Join(dir, "root"), Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img")}, nil
}

// debootstrapAttempts bounds how often debootstrap is run: it does not
// retry a package whose download fails, and one dropped connection to the
// mirror must not fail a CI run.
const debootstrapAttempts = 3

// debootstrap makes the guest's Debian root at root. The packages it
// downloads are kept in debs, so that another attempt fetches only what
// the failed one did not.
func debootstrap(ctx context.Context, log io.Writer, include, root, debs string) error {
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	var err error
	for attempt := 1; attempt <= debootstrapAttempts; attempt++ {
		if attempt > 1 {
			fmt.Fprintf(log, "boot: debootstrap failed (%v); attempt %d of %d\n", err, attempt, debootstrapAttempts)
		}
		if err = os.RemoveAll(root); err != nil {
			return err
		}
		for _, f := range preseed {
			if err = writeFile(root, f.path, f.contents, 0o644); err != nil {
				return err
			}
		}
		err = run(ctx, log, "", nil, "debootstrap", "--variant=minbase", "--include="+include, "--cache-dir="+debs, guestSuite, root, guestMirror)
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// fcosLikeVersion changes whenever fcosLike does, so cached bases are rebuilt.
const fcosLikeVersion = "3"

// fcosLike adjusts the Debian root where the appliance's config relies on
// Fedora CoreOS: the wheel group exists; NUT reads /etc/ups (Debian: /etc/nut)
// and its units are installed but disabled until a preset enables them.
//
// The guest boots for the first time as Fedora CoreOS does, which is how the
// units Ignition and sovereign's presets enable get enabled: there is no
// machine ID at all (machine-id(5): a missing /etc/machine-id, or one saying
// "uninitialized", makes a first boot, on which systemd applies every preset
// before it starts anything; an empty one does not), and, as Fedora's
// 99-default-disable.preset says, a unit no preset names stays as the image
// has it, so a preset sovereign forgot shows as a unit that never started
// instead of being hidden by Debian's enable-by-default policy.
func fcosLike(ctx context.Context, log io.Writer, root string) error {
	if err := run(ctx, log, "", nil, "groupadd", "--root", root, "--system", "wheel"); err != nil {
		return err
	}
	etc := filepath.Join(root, "etc")
	if err := os.Rename(filepath.Join(etc, "nut"), filepath.Join(etc, "ups")); err != nil {
		return err
	}
	if err := os.Symlink("ups", filepath.Join(etc, "nut")); err != nil {
		return err
	}
	nut := []string{"nut.target", "nut-driver.target", "nut-server.service", "nut-monitor.service", "nut-driver-enumerator.service", "nut-driver-enumerator.path"}
	if err := run(ctx, log, "", nil, "systemctl", append([]string{"--root=" + root, "--quiet", "disable"}, nut...)...); err != nil {
		return err
	}
	// debootstrap leaves the machine ID its packages made (dbus's
	// included); every guest would share it and none would boot first.
	for _, id := range []string{"etc/machine-id", "var/lib/dbus/machine-id"} {
		if err := os.Remove(filepath.Join(root, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := writeFile(root, "usr/lib/systemd/system-preset/99-default-disable.preset", "disable *\n", 0o644); err != nil {
		return err
	}
	// Debian's own preset enables systemd-networkd and, through it, a
	// wait-online service that fails after two minutes on a host whose
	// network NetworkManager runs, as Fedora CoreOS's does. A link to
	// /dev/null in /etc is how systemd.preset(5) turns a vendor preset off.
	presets := filepath.Join(etc, "systemd/system-preset")
	if err := os.MkdirAll(presets, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/dev/null", filepath.Join(presets, "90-systemd.preset")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(etc, "fstab"), []byte("/dev/vda / ext4 rw,errors=remount-ro 0 1\n"), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// errNotRoot is returned when the test cannot build a guest root.
var errNotRoot = errors.New("the boot test builds a guest root (debootstrap, chown): it needs root")

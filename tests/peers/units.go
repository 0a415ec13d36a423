package peers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// VerifyUnits runs Podman's quadlet generator (generator mode, absolute QUADLET_UNIT_DIRS) over
// rootfs/etc/containers/systemd, then `systemd-analyze verify --man=no --generators=no
// --root=STUBROOT` on every generated unit and every plain unit from rootfs/etc/systemd/system.
// The stub root holds a copy of rootfs, the host's *.target units, the generated units, and a
// stub executable for every absolute path named in an Exec*= line that rootfs does not itself
// provide (including the /usr/bin/podman that quadlet's units run); without them systemd-analyze
// fails on "not found" and "not executable" that say nothing about sovereign.
// ANY output from quadlet or systemd-analyze fails the test: both exit 0 on warnings such as an
// unknown key, which on the appliance means a setting silently ignored.
// It returns the number of units verified, so callers can assert that their units were seen.
func VerifyUnits(t testing.TB, rootfs string) int {
	t.Helper()
	units, err := verifyUnits(t, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	return len(units)
}

// unitSuffixes are the unit types systemd-analyze verify can load from a file.
var unitSuffixes = []string{".service", ".socket", ".timer", ".path", ".mount", ".automount", ".swap", ".target", ".slice"}

// execKeys are the unit keys whose value is a command line (quadlet's own Exec= in
// [X-Container] is arguments, not a command, and is left out on purpose).
var execKeys = []string{"ExecStart", "ExecStartPre", "ExecStartPost", "ExecCondition", "ExecReload", "ExecStop", "ExecStopPost"}

// verifyUnits is VerifyUnits without failing the test: it returns the names of the units
// verified, sorted, and an error that carries every validator message.
func verifyUnits(tb testing.TB, rootfs string) ([]string, error) {
	tb.Helper()
	rootfs, err := filepath.Abs(rootfs)
	if err != nil {
		return nil, err
	}
	quadlet := Tool(tb, "quadlet")
	analyze := Tool(tb, "systemd-analyze")

	scratch := tb.TempDir()
	stub := filepath.Join(scratch, "root")
	unitDir := filepath.Join(stub, "etc", "systemd", "system")
	if err := copyTree(rootfs, stub, false); err != nil {
		return nil, fmt.Errorf("copying rootfs into stub root: %w", err)
	}
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		return nil, err
	}

	plain, err := unitFiles(filepath.Join(rootfs, "etc", "systemd", "system"))
	if err != nil {
		return nil, err
	}

	var generated []string
	quadletDir := filepath.Join(rootfs, "etc", "containers", "systemd")
	if _, err := os.Stat(quadletDir); err == nil {
		gen := filepath.Join(scratch, "generator")
		if err := os.Mkdir(gen, 0o755); err != nil {
			return nil, err
		}
		tb.Logf("peer check: quadlet generate %s", quadletDir)
		r := run(tb, []string{"QUADLET_UNIT_DIRS=" + quadletDir}, quadlet, "-no-kmsg-log", gen)
		if out := r.combined(); r.err != nil || out != "" {
			return nil, fmt.Errorf("quadlet rejected %s (%s):\n%s", quadletDir, r.status(), out)
		}
		if generated, err = unitFiles(gen); err != nil {
			return nil, err
		}
		// A generated unit that a plain unit of the same name would shadow is a compiler bug,
		// not something systemd would report: refuse it here.
		for _, name := range generated {
			if slices.Contains(plain, name) {
				return nil, fmt.Errorf("quadlet generates %s, which rootfs/etc/systemd/system also defines", name)
			}
		}
		if err := copyTree(gen, unitDir, true); err != nil {
			return nil, fmt.Errorf("copying generated units: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	if err := copyHostTargets(filepath.Join(stub, "usr", "lib", "systemd", "system")); err != nil {
		return nil, err
	}
	if err := stubExecutables(stub); err != nil {
		return nil, err
	}

	// Name each generated unit's quadlet in messages: that is the file to fix.
	source := map[string]string{}
	for _, name := range generated {
		if src := sourcePath(filepath.Join(unitDir, name)); src != "" {
			source[name] = " (generated from " + filepath.Base(src) + ")"
		}
	}
	units := slices.Concat(plain, generated)
	slices.Sort(units)
	var failures []string
	for _, name := range units {
		tb.Logf("peer check: systemd-analyze verify %s", name)
		r := run(tb, []string{"SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER="}, analyze,
			"verify", "--man=no", "--generators=no", "--root="+stub, filepath.Join(unitDir, name))
		if out := r.combined(); r.err != nil || out != "" {
			// Report paths as the compiler wrote them, not inside the scratch root.
			out = strings.ReplaceAll(out, stub+"/", "/")
			failures = append(failures, fmt.Sprintf("%s%s (%s):\n%s", name, source[name], r.status(), out))
		}
	}
	if len(failures) > 0 {
		return units, fmt.Errorf("systemd-analyze verify rejected %d of %d units:\n%s",
			len(failures), len(units), strings.Join(failures, "\n"))
	}
	return units, nil
}

// sourcePath returns the SourcePath= that quadlet records in a generated unit, or "".
func sourcePath(unitFile string) string {
	data, err := os.ReadFile(unitFile)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "SourcePath="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// unitFiles lists the unit files directly in dir: regular files with a unit suffix. Symlinks
// (masks, .wants links) and drop-in directories are not units of their own.
func unitFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && slices.Contains(unitSuffixes, filepath.Ext(e.Name())) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// copyHostTargets copies the host's *.target units (and their symlinks, such as
// default.target) into the stub root: units say After=/WantedBy= standard targets, and
// systemd-analyze fails on "sysinit.target not found" without them.
func copyHostTargets(dst string) error {
	var targets []string
	for _, dir := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if targets, _ = filepath.Glob(filepath.Join(dir, "*.target")); len(targets) > 0 {
			break
		}
	}
	if len(targets) == 0 {
		return errors.New("no *.target units on this host (is the systemd package installed?)")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, src := range targets {
		target := filepath.Join(dst, filepath.Base(src))
		if _, err := os.Lstat(target); err == nil {
			continue // rootfs ships its own
		}
		if err := copyEntry(src, target); err != nil {
			return err
		}
	}
	return nil
}

// stubExecutables creates an executable no-op for every absolute command path in an Exec*=
// line of any unit or drop-in under the stub root that the root does not already contain.
// systemd-analyze checks that commands exist inside --root; what they do is not its business.
func stubExecutables(root string) error {
	var paths []string
	for _, dir := range []string{"etc/systemd/system", "usr/lib/systemd/system"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			found, err := execPaths(path)
			paths = append(paths, found...)
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, p := range paths {
		dst := filepath.Join(root, p)
		if !strings.HasPrefix(dst, root+string(filepath.Separator)) {
			continue // "/usr/../.." and the like: systemd-analyze reports those itself
		}
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// execPaths returns the absolute command paths in the Exec*= lines of one unit file.
func execPaths(unitFile string) ([]string, error) {
	f, err := os.Open(unitFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024) // podman run lines get long
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || !slices.Contains(execKeys, strings.TrimSpace(key)) {
			continue
		}
		// Strip systemd's command prefixes (-, @, :, +, !, !!, |), then take the first word.
		value = strings.TrimLeft(strings.TrimSpace(value), "-@:+!|")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		cmd := strings.Trim(fields[0], `"'`)
		if strings.HasPrefix(cmd, "/") && !strings.ContainsAny(cmd, "%$") {
			paths = append(paths, cmd)
		}
	}
	return paths, sc.Err()
}

// copyTree copies src into dst (directories, regular files with their modes, symlinks as
// symlinks). With noClobber, an existing file in dst is an error, except a symlink that
// already points where the new one would (both rootfs and quadlet may enable a unit).
func copyTree(src, dst string, noClobber bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Lstat(target); err == nil {
			if noClobber {
				if sameSymlink(path, target) {
					return nil
				}
				return fmt.Errorf("%s already exists", target)
			}
			if err := os.Remove(target); err != nil {
				return err
			}
		}
		return copyEntry(path, target)
	})
}

func sameSymlink(a, b string) bool {
	la, errA := os.Readlink(a)
	lb, errB := os.Readlink(b)
	return errA == nil && errB == nil && la == lb
}

// copyEntry copies one regular file (keeping its permission bits) or symlink.
func copyEntry(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(link, dst)
	case fi.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return fmt.Errorf("%s: unsupported file type %s", src, fi.Mode().Type())
	}
}

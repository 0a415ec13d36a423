package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/units/output"
)

// Write puts the result at dir as a whole or not at all: it writes a sibling
// temporary folder, then swaps it into place. A build that fails half-way
// leaves the previous output as it was. A dir that exists but is not a
// sovereign output is refused rather than replaced.
func Write(fsys afero.Fs, dir string, res *Result) error {
	return replaceDir(fsys, dir, func(tmp string) error { return writeTree(fsys, tmp, res) })
}

// replaceDir fills a sibling temporary folder of dir with fill, then swaps
// it into place.
func replaceDir(fsys afero.Fs, dir string, fill func(tmp string) error) error {
	dir = filepath.Clean(dir)
	if dir == "." || dir == ".." || filepath.Base(dir) == ".." || dir == string(filepath.Separator) {
		return fmt.Errorf("refusing to write the appliance to %q: it is replaced as a whole, so give a folder of its own, e.g. -o out", dir)
	}
	if info, err := fsys.Stat(dir); err == nil {
		if !info.IsDir() {
			return fmt.Errorf("%s exists and is not a folder", dir)
		}
		if empty, _ := afero.IsEmpty(fsys, dir); !empty {
			_, errHost := fsys.Stat(filepath.Join(dir, output.ManifestFile))
			_, errFleet := fsys.Stat(filepath.Join(dir, FleetFile))
			if errHost != nil && errFleet != nil {
				return fmt.Errorf("refusing to replace %s: it is not empty and holds no %s, so it is not a sovereign output", dir, output.ManifestFile)
			}
		}
	}
	parent := filepath.Dir(dir)
	if err := fsys.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := afero.TempDir(fsys, parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer fsys.RemoveAll(tmp) // no-op once renamed

	if err := fill(tmp); err != nil {
		return err
	}
	// The output folder is readable by its owner only: ignition.json and
	// rootfs/ hold secrets.
	if err := fsys.Chmod(tmp, 0o700); err != nil {
		return err
	}

	old := ""
	if _, err := fsys.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := fsys.Rename(dir, old); err != nil {
			return fmt.Errorf("moving the previous output aside: %w", err)
		}
	}
	if err := fsys.Rename(tmp, dir); err != nil {
		if old != "" {
			if rerr := fsys.Rename(old, dir); rerr != nil {
				err = errors.Join(err, fmt.Errorf("restoring the previous output from %s: %w", old, rerr))
			}
		}
		return err
	}
	if old != "" {
		return fsys.RemoveAll(old)
	}
	return nil
}

func writeTree(fsys afero.Fs, root string, res *Result) error {
	top := []struct {
		name string
		mode fs.FileMode
		data []byte
	}{
		{output.IgnitionFile, 0o600, res.Ignition}, // it inlines every secret
		{output.ButaneFile, 0o644, res.Butane},
		{output.ManifestFile, 0o644, res.Manifest},
		{output.PlanFile, 0o644, res.Plan},
		{output.ImagesFile, 0o644, res.Images},
	}
	for _, f := range top {
		if err := writeFile(fsys, filepath.Join(root, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	for _, f := range res.Rootfs {
		p := filepath.Join(root, output.RootfsDir, filepath.FromSlash(path.Clean(f.Path)))
		if err := fsys.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeFile(fsys, p, f.Contents, fs.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	if res.Pointer != nil {
		if err := writeFile(fsys, filepath.Join(root, output.PointerFile), res.Pointer, 0o644); err != nil {
			return err
		}
	}
	if err := writeOS(fsys, root, res.OSFiles); err != nil {
		return err
	}
	return writeImage(fsys, root, res.Image)
}

// writeFile writes data with exactly mode, whatever the umask, and syncs it
// so that a crash right after the rename cannot leave empty files behind.
func writeFile(fsys afero.Fs, name string, data []byte, mode fs.FileMode) error {
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode&0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fsys.Chmod(name, mode)
}

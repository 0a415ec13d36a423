package commands

import (
	"io/fs"
	"path/filepath"

	"github.com/spf13/afero"
)

// writeFileAtomic replaces path with b (mode 0644) in one rename, so a
// reader sees the old file or the new one, never a part.
func writeFileAtomic(fsys afero.Fs, path string, b []byte) error {
	return writeFileAtomicMode(fsys, path, b, 0o644)
}

// writeFileAtomicMode is writeFileAtomic with the new file's mode; the
// temporary file has that mode before any byte is written, so a secret is
// never readable by others, not even for a moment.
func writeFileAtomicMode(fsys afero.Fs, path string, b []byte, mode fs.FileMode) error {
	tmp, err := afero.TempFile(fsys, filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tmp.Close()
		fsys.Remove(tmp.Name())
		return err
	}
	if err := fsys.Chmod(tmp.Name(), mode); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	return fsys.Rename(tmp.Name(), path)
}

// Package appliance builds the appliance OCI image: the pinned base OS image
// (Fedora CoreOS, an ostree-native container image) plus exactly one layer
// holding the appliance's root filesystem. A host switched to the image by
// digest (bootc switch / rpm-ostree rebase) boots the whole appliance; an
// update is a new image and a reboot, and the previous deployment stays for
// rollback.
//
// The layer is reproducible: entries sorted by path, every timestamp Epoch,
// owner root:root, modes from the tree, gzip at a fixed level. The base's
// layers are reused as they are: mutate.Time and mutate.Canonical would
// rewrite every base layer (a new 1 GB upload per build, and the loss of the
// base's ostree chunking), so only our own layer is made canonical and the
// config's timestamps are fixed.
//
// What goes into the layer, and what does not:
//   - every rootfs file that is not a secret, at its path and mode. Secret
//     files stay out: an image sits in a registry, readable by whoever can
//     pull it, and its layers are never deleted from the hosts that pulled
//     it. Secrets are written by the image-mode Ignition config, and on an
//     update by the operator (sovereign diff says which changed).
//   - the parent folders of every entry (0755), and the tree's folders
//     outside /var with their modes.
//   - the tree's symbolic links.
//   - for each enabled plain unit, the symlink `systemctl enable` would make
//     (presets are applied only at first boot, not when a host switches to
//     a new image).
//   - /var is not the image's to write: an image's /var is unpacked once, at
//     installation, and never again, so a folder there would never appear on
//     an update. Folders under /var become systemd-tmpfiles lines, and files
//     under /var — and under /usr/local, which Fedora CoreOS links to
//     /var/usrlocal — are stored under VarStore and linked into place by a
//     tmpfiles `L+` line, at every boot, so they follow the deployment.
package appliance

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sovereign-collective/sovereign/units"
)

// Epoch is every timestamp the appliance layer and config carry.
var Epoch = time.Unix(0, 0).UTC()

const (
	// VarStore holds, in the image, the files the tree places under /var.
	VarStore = "/usr/lib/sovereign/var"
	// TmpfilesConf creates the /var folders and links at every boot.
	TmpfilesConf = "/usr/lib/tmpfiles.d/sovereign-appliance.conf"
)

// Entry is one entry of the appliance layer.
type Entry struct {
	Path   string // absolute
	Type   byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode   int64
	Target string // symlinks
	Data   []byte // regular files
}

// ImagePath is where a rootfs file is stored in the image: its own path, or
// under VarStore when the path lies in /var (or /usr/local, which is
// /var/usrlocal on Fedora CoreOS).
func ImagePath(p string) string {
	if v, ok := varPath(p); ok {
		return path.Join(VarStore, strings.TrimPrefix(v, "/var/"))
	}
	return p
}

// varPath returns the /var path p really is, if it is one.
func varPath(p string) (string, bool) {
	switch {
	case p == "/usr/local" || strings.HasPrefix(p, "/usr/local/"):
		return "/var/usrlocal" + strings.TrimPrefix(p, "/usr/local"), true
	case p == "/var" || strings.HasPrefix(p, "/var/"):
		return p, true
	}
	return "", false
}

// Entries lists the layer's entries for tree, whose rendered files are
// rootfs, sorted by path.
func Entries(tree *units.Tree, rootfs []*units.File) ([]Entry, error) {
	byPath := map[string]Entry{}
	var tmpfiles []string
	add := func(e Entry) error {
		if prev, ok := byPath[e.Path]; ok && (prev.Type != e.Type || prev.Type != tar.TypeDir || prev.Mode != e.Mode) {
			return fmt.Errorf("bug: %s is in the appliance layer twice", e.Path)
		}
		byPath[e.Path] = e
		return nil
	}
	for _, f := range rootfs {
		if f.Secret {
			continue
		}
		p := ImagePath(f.Path)
		if err := add(Entry{Path: p, Type: tar.TypeReg, Mode: int64(f.Mode), Data: f.Contents}); err != nil {
			return nil, err
		}
		if v, ok := varPath(f.Path); ok {
			tmpfiles = append(tmpfiles, tmpfilesParents(v)...)
			tmpfiles = append(tmpfiles, fmt.Sprintf("L+ %s - - - - %s", v, p))
		}
	}
	for _, d := range tree.Directories {
		if v, ok := varPath(d.Path); ok {
			tmpfiles = append(tmpfiles, fmt.Sprintf("d %s %04o root root -", v, d.Mode))
			continue
		}
		if err := add(Entry{Path: d.Path, Type: tar.TypeDir, Mode: int64(d.Mode)}); err != nil {
			return nil, err
		}
	}
	for _, l := range tree.Links {
		if v, ok := varPath(l.Path); ok {
			tmpfiles = append(tmpfiles, tmpfilesParents(v)...)
			tmpfiles = append(tmpfiles, fmt.Sprintf("L+ %s - - - - %s", v, l.Target))
			continue
		}
		if err := add(Entry{Path: l.Path, Type: tar.TypeSymlink, Mode: 0o777, Target: l.Target}); err != nil {
			return nil, err
		}
	}
	for _, u := range tree.Units {
		if !u.Enabled || u.IsQuadlet() {
			continue
		}
		for _, kind := range []struct{ key, suffix string }{{"WantedBy", ".wants"}, {"RequiredBy", ".requires"}} {
			for _, v := range u.Get("Install", kind.key) {
				for _, target := range strings.Fields(v) {
					p := path.Join(units.SystemdDir, target+kind.suffix, u.Name)
					if err := add(Entry{Path: p, Type: tar.TypeSymlink, Mode: 0o777, Target: u.Path()}); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	if len(tmpfiles) > 0 {
		tmpfiles = dedupe(tmpfiles)
		body := "# Generated by sovereign: what the appliance keeps under /var, which an image\n" +
			"# cannot update. Links point into the running deployment.\n" +
			strings.Join(tmpfiles, "\n") + "\n"
		if err := add(Entry{Path: TmpfilesConf, Type: tar.TypeReg, Mode: 0o644, Data: []byte(body)}); err != nil {
			return nil, err
		}
	}
	// Parent folders of everything, as root-owned 0755, unless the tree
	// names them with a mode of its own.
	for p := range byPath {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Entry{Path: d, Type: tar.TypeDir, Mode: 0o755}
			}
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// tmpfilesParents are the `d` lines that create the folders above a /var
// path, below /var itself.
func tmpfilesParents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/var" && d != "/"; d = path.Dir(d) {
		out = append([]string{fmt.Sprintf("d %s 0755 root root -", d)}, out...)
	}
	return out
}

// dedupe keeps the first of each line, in order.
func dedupe(lines []string) []string {
	seen := map[string]bool{}
	out := lines[:0]
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// Tar writes entries as an uncompressed tar stream, in order, with fixed
// owners and times.
func Tar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Typeflag: e.Type,
			Name:     strings.TrimPrefix(e.Path, "/"),
			Mode:     e.Mode,
			Uname:    "root",
			Gname:    "root",
			ModTime:  Epoch,
		}
		switch e.Type {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeSymlink:
			h.Linkname = e.Target
		case tar.TypeReg:
			h.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s to the layer: %w", e.Path, err)
		}
		if e.Type == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer is the appliance layer of tree with media type mt (an OCI or a
// Docker layer, to match the base's manifest).
func Layer(tree *units.Tree, rootfs []*units.File, mt types.MediaType) (v1.Layer, error) {
	entries, err := Entries(tree, rootfs)
	if err != nil {
		return nil, err
	}
	tb, err := Tar(entries)
	if err != nil {
		return nil, err
	}
	l, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil },
		tarball.WithMediaType(mt),
		tarball.WithCompressionLevel(gzip.BestCompression),
		tarball.WithCompressedCaching,
	)
	if err != nil {
		return nil, err
	}
	return plainLayer{l}, nil
}

// plainLayer hides the tarball layer's Descriptor method, whose empty (not
// nil) annotations map makes mutate's Manifest() differ from the manifest it
// serializes, which validate.Image rightly reports.
type plainLayer struct{ v1.Layer }

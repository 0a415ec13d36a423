// Package units holds the appliance tree — every file, folder, link, user and
// systemd unit the appliance gets — and renders systemd units and Podman
// Quadlet files with go-systemd. Modules contribute partial trees; Merge joins
// them and turns any two claims on the same thing into a diagnostic.
package units

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Tree is the whole appliance, or one module's contribution to it. Every node
// records the blueprint range it came from, so that a problem found later
// (a conflict, an unpinned image, an Ignition warning) points at the block
// that caused it.
type Tree struct {
	Files       []*File
	Directories []*Directory
	Links       []*Link
	Units       []*Unit
	Users       []*User
	Filesystems []*Filesystem
	Presets     []*Preset
}

// Preset is a systemd preset file enabling units at first boot: units of
// the OS (NUT, ModemManager) whose [Install] sections only the OS knows.
type Preset struct {
	// Path is the file, in /etc/systemd/system-preset.
	Path string
	// Why is the file's comment line.
	Why string
	// Enable are the unit names it enables, in order.
	Enable []string
	Origin hcl.Range
}

// Render writes the preset file.
func (p *Preset) Render() []byte {
	b := []byte("# " + p.Why + "\n")
	for _, name := range p.Enable {
		b = append(b, "enable "+name+"\n"...)
	}
	return b
}

// File is a regular file at its final path on the appliance.
type File struct {
	Path     string
	Mode     int // permission bits, e.g. 0o644
	Contents []byte
	// Secret files are written 0600 (or tighter) and their contents are
	// shown nowhere but in ignition.json and the file itself.
	Secret bool
	Origin hcl.Range
}

// Directory is a folder the appliance needs before any service starts.
type Directory struct {
	Path   string
	Mode   int
	Origin hcl.Range
}

// Link is a symbolic link.
type Link struct {
	Path, Target string
	Origin       hcl.Range
}

// User is a login account.
type User struct {
	Name              string
	SSHAuthorizedKeys []string
	Groups            []string
	Origin            hcl.Range
}

// Filesystem is a disk formatted once and mounted at Path.
type Filesystem struct {
	Device, Path, Format, Label string
	Origin                      hcl.Range
}

// Image is a container image a Quadlet runs. Ref is as the blueprint wrote
// it; Pinned is filled in by the images package with the digest reference
// that is actually rendered.
type Image struct {
	Ref    string
	Pinned string
	Origin hcl.Range
}

// Merge joins contributions into one tree. Two contributions that claim the
// same path, unit or user are an error at both origins: silently letting one
// win would make the appliance depend on module order.
func Merge(parts ...*Tree) (*Tree, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := &Tree{}
	claimed := map[string]hcl.Range{}
	claim := func(kind, key string, origin hcl.Range) bool {
		k := kind + "\x00" + key
		if prev, ok := claimed[k]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Conflicting " + kind,
				Detail:   fmt.Sprintf("Two parts of the blueprint both define the %s %s; the other is at %s.", kind, key, prev),
				Subject:  origin.Ptr(),
			})
			return false
		}
		claimed[k] = origin
		return true
	}
	for _, p := range parts {
		if p == nil {
			continue
		}
		for _, f := range p.Files {
			if claim("path", f.Path, f.Origin) {
				out.Files = append(out.Files, f)
			}
		}
		for _, l := range p.Links {
			if claim("path", l.Path, l.Origin) {
				out.Links = append(out.Links, l)
			}
		}
		for _, u := range p.Units {
			if claim("path", u.Path(), u.Origin) {
				out.Units = append(out.Units, u)
			}
		}
		for _, d := range p.Directories {
			// Several modules may need the same folder; that is not a conflict
			// as long as they agree on its mode.
			if prev := out.directory(d.Path); prev != nil {
				if prev.Mode != d.Mode {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Conflicting folder modes",
						Detail:   fmt.Sprintf("The folder %s is wanted with mode %04o here and %04o at %s.", d.Path, d.Mode, prev.Mode, prev.Origin),
						Subject:  d.Origin.Ptr(),
					})
				}
				continue
			}
			out.Directories = append(out.Directories, d)
		}
		for _, u := range p.Users {
			if claim("user", u.Name, u.Origin) {
				out.Users = append(out.Users, u)
			}
		}
		for _, fs := range p.Filesystems {
			if claim("mount point", fs.Path, fs.Origin) {
				out.Filesystems = append(out.Filesystems, fs)
			}
		}
		for _, pr := range p.Presets {
			if claim("path", pr.Path, pr.Origin) {
				out.Presets = append(out.Presets, pr)
			}
		}
	}
	out.sort()
	return out, diags
}

func (t *Tree) directory(p string) *Directory {
	for _, d := range t.Directories {
		if d.Path == p {
			return d
		}
	}
	return nil
}

// sort orders every list so that output never depends on module order.
func (t *Tree) sort() {
	sort.Slice(t.Files, func(i, j int) bool { return t.Files[i].Path < t.Files[j].Path })
	sort.Slice(t.Directories, func(i, j int) bool { return t.Directories[i].Path < t.Directories[j].Path })
	sort.Slice(t.Links, func(i, j int) bool { return t.Links[i].Path < t.Links[j].Path })
	sort.Slice(t.Units, func(i, j int) bool { return t.Units[i].Name < t.Units[j].Name })
	sort.Slice(t.Users, func(i, j int) bool { return t.Users[i].Name < t.Users[j].Name })
	sort.Slice(t.Filesystems, func(i, j int) bool { return t.Filesystems[i].Path < t.Filesystems[j].Path })
	sort.Slice(t.Presets, func(i, j int) bool { return t.Presets[i].Path < t.Presets[j].Path })
}

// Images returns every image the tree's Quadlets run, in unit order.
func (t *Tree) Images() []*Image {
	var out []*Image
	for _, u := range t.Units {
		if u.Image != nil {
			out = append(out, u.Image)
		}
	}
	return out
}

// Rootfs returns every regular file of the appliance — the tree's files,
// its rendered units and presets — sorted by path. This is what out/rootfs
// holds.
func (t *Tree) Rootfs() ([]*File, error) {
	files := append([]*File(nil), t.Files...)
	for _, p := range t.Presets {
		files = append(files, &File{Path: p.Path, Mode: 0o644, Contents: p.Render(), Origin: p.Origin})
	}
	for _, u := range t.Units {
		b, err := u.Render()
		if err != nil {
			return nil, err
		}
		files = append(files, &File{Path: u.Path(), Mode: 0o644, Contents: b, Origin: u.Origin})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || strings.Contains(f.Path, "\x00") {
			return nil, fmt.Errorf("bug: file path %q is not clean and absolute", f.Path)
		}
		if f.Secret && f.Mode&0o077 != 0 {
			return nil, fmt.Errorf("bug: secret file %s has mode %04o, readable beyond its owner", f.Path, f.Mode)
		}
	}
	return files, nil
}

// HostManifest is where the appliance keeps the list of every file and unit
// of its build, which sovereign-verify.timer checks the host against.
const HostManifest = "/etc/sovereign/manifest"

// WithHostManifest adds HostManifest to t: "file MODE SHA256 PATH" for every
// other file and "unit NAME" for every unit's service, sorted. A secret's
// digest is "-": the manifest goes into image mode's image, where no trace
// of a secret may, so the host checks a secret's presence and mode only.
func (t *Tree) WithHostManifest(origin hcl.Range) (*Tree, error) {
	files, err := t.Rootfs()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# Generated by sovereign: every file and unit of this appliance's build, for sovereign-verify.\n")
	for _, f := range files {
		digest := "-"
		if !f.Secret {
			sum := sha256.Sum256(f.Contents)
			digest = hex.EncodeToString(sum[:])
		}
		fmt.Fprintf(&b, "file %04o %s %s\n", f.Mode, digest, f.Path)
	}
	services := make([]string, 0, len(t.Units))
	for _, u := range t.Units {
		services = append(services, u.ServiceName())
	}
	sort.Strings(services)
	for _, s := range services {
		fmt.Fprintf(&b, "unit %s\n", s)
	}
	out := *t
	out.Files = append(append([]*File(nil), t.Files...), &File{Path: HostManifest, Mode: 0o644, Contents: []byte(b.String()), Origin: origin})
	return &out, nil
}

// Package verify compares what a build says an appliance runs with what the
// host reports (package remote): every file with its mode and digest, no
// file of sovereign's that the build lacks, every unit in the state it
// should be in, every container on the image the lock pins, and the OS
// image. Secrets are compared by digest and never shown.
package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/remote"
	"github.com/sovereign-collective/sovereign/units"
)

// ownedDirs are the folders only sovereign writes to: a file there that the
// build does not make is drift, not somebody else's file.
var ownedDirs = []string{"/etc/sovereign", "/usr/local/libexec/sovereign", units.QuadletDir}

// Want is what the host should have.
type Want struct {
	Files map[string]WantFile
	Links map[string]string
	Units []WantUnit
	// Containers maps a container name to the image reference it must run.
	Containers map[string]string
	// OSImage is the image the host must be booted from ("" when the
	// build does not decide it).
	OSImage string
	// Users are the admins' accounts; Mounts the data disks' mount points.
	// Ignition makes both only at first boot.
	Users, Mounts []string
}

// WantFile is a file's mode and digest.
type WantFile struct {
	Mode   int
	SHA256 string
	Secret bool
}

// WantUnit is a unit the host must have loaded, with what else it must be.
type WantUnit struct {
	Name string // the systemd unit: a Quadlet's generated service
	// Running: active now (a container, a daemon, a oneshot that stays).
	Running bool
	// Enabled: enabled at boot through its preset.
	Enabled bool
}

// FromTree is what the host should have after a build of tree.
func FromTree(tree *units.Tree, files []*units.File, osImage string) Want {
	w := Want{Files: map[string]WantFile{}, Links: map[string]string{}, Containers: map[string]string{}, OSImage: osImage}
	for _, f := range files {
		sum := sha256.Sum256(f.Contents)
		w.Files[f.Path] = WantFile{Mode: f.Mode, SHA256: hex.EncodeToString(sum[:]), Secret: f.Secret}
	}
	for _, l := range tree.Links {
		w.Links[l.Path] = l.Target
	}
	for _, u := range tree.Users {
		w.Users = append(w.Users, u.Name)
	}
	for _, fs := range tree.Filesystems {
		w.Mounts = append(w.Mounts, fs.Path)
	}
	for _, u := range tree.Units {
		w.Units = append(w.Units, wantUnit(u))
		if u.Image != nil && path.Ext(u.Name) == ".container" {
			w.Containers[u.ContainerName()] = u.Image.Pinned
		}
	}
	sort.Slice(w.Units, func(i, j int) bool { return w.Units[i].Name < w.Units[j].Name })
	return w
}

// wantUnit says what state a unit must be in: a Quadlet's container runs; a
// plain unit enabled at boot must be enabled, and runs unless it is a
// oneshot that does not stay.
func wantUnit(u *units.Unit) WantUnit {
	if u.IsQuadlet() {
		return WantUnit{Name: u.ServiceName(), Running: path.Ext(u.Name) == ".container"}
	}
	w := WantUnit{Name: u.Name, Enabled: u.Enabled}
	oneshot := slices.Contains(u.Get("Service", "Type"), "oneshot")
	stays := slices.Contains(u.Get("Service", "RemainAfterExit"), "yes")
	w.Running = u.Enabled && (!oneshot || stays) && path.Ext(u.Name) != ".target"
	return w
}

// Query is what to ask the host for.
func (w Want) Query() remote.Query {
	var q remote.Query
	q.Dirs = append(q.Dirs, ownedDirs...)
	for _, p := range slices.Sorted(maps.Keys(w.Files)) {
		if !owned(p) {
			q.Dirs = append(q.Dirs, p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(w.Links)) {
		if !owned(p) {
			q.Dirs = append(q.Dirs, p)
		}
	}
	for _, u := range w.Units {
		q.Units = append(q.Units, u.Name)
	}
	q.Containers = slices.Sorted(maps.Keys(w.Containers))
	q.Users, q.Mounts = w.Users, w.Mounts
	return q
}

func owned(p string) bool {
	for _, d := range ownedDirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// Drift is one difference between the build and the host.
type Drift struct {
	Kind string `json:"kind"` // file, link, unit, container, os
	What string `json:"what"` // the path, unit, container
	// Problem says what is wrong in words; Want and Got are the values
	// (never a secret's contents: files are compared by digest).
	Problem string `json:"problem"`
	Want    string `json:"want,omitempty"`
	Got     string `json:"got,omitempty"`
}

// Compare lists every way the host differs from w, sorted.
func Compare(w Want, got *remote.State) []Drift {
	var ds []Drift
	add := func(kind, what, problem, want, have string) {
		ds = append(ds, Drift{Kind: kind, What: what, Problem: problem, Want: want, Got: have})
	}
	for _, p := range slices.Sorted(maps.Keys(w.Files)) {
		want := w.Files[p]
		have, ok := got.Files[p]
		switch {
		case !ok:
			add("file", p, "missing", "", "")
		case have.Link != "":
			add("file", p, "is a link, not a file", "", have.Link)
		case have.SHA256 != want.SHA256:
			if want.Secret {
				add("file", p, "contents differ (a secret: not shown)", "", "")
			} else {
				add("file", p, "contents differ", "sha256:"+want.SHA256, "sha256:"+have.SHA256)
			}
		}
		if ok && have.Link == "" && have.Mode != want.Mode {
			add("file", p, "mode differs", fmt.Sprintf("%04o", want.Mode), fmt.Sprintf("%04o", have.Mode))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(w.Links)) {
		have, ok := got.Files[p]
		switch {
		case !ok:
			add("link", p, "missing", w.Links[p], "")
		case have.Link != w.Links[p]:
			add("link", p, "points elsewhere", w.Links[p], have.Link)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got.Files)) {
		if _, file := w.Files[p]; file {
			continue
		}
		if _, link := w.Links[p]; link || !owned(p) {
			continue
		}
		add("file", p, "not made by this build (left over, or put there by hand)", "", "")
	}
	for _, u := range w.Units {
		have, ok := got.Units[u.Name]
		switch {
		case !ok || have.Load != "loaded":
			add("unit", u.Name, "not loaded", "loaded", have.Load)
			continue
		case have.Active == "failed":
			add("unit", u.Name, "failed", "", have.Active+"/"+have.Sub)
		case u.Running && have.Active != "active":
			add("unit", u.Name, "not running", "active", have.Active+"/"+have.Sub)
		}
		if u.Enabled && !strings.HasPrefix(have.Enabled, "enabled") {
			add("unit", u.Name, "not enabled at boot", "enabled", have.Enabled)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.Containers)) {
		want, have := w.Containers[name], got.Containers[name]
		switch {
		case have == "":
			add("container", name, "not there", want, "")
		case have != want:
			add("container", name, "runs another image", want, have)
		}
	}
	for _, u := range w.Users {
		if !got.Users[u] {
			add("user", u, "no such account (Ignition creates admins only at first boot: add it by hand or reprovision)", "", "")
		}
	}
	for _, m := range w.Mounts {
		if !got.Mounts[m] {
			add("mount", m, "nothing mounted there (Ignition formats data disks only at first boot: reprovision)", "", "")
		}
	}
	if w.OSImage != "" && got.OSImage != w.OSImage {
		add("os", "booted deployment", "booted from another image", w.OSImage, got.OSImage)
	}
	return ds
}

// WriteText prints the drift for people, one line each, grouped by kind.
func WriteText(out io.Writer, target string, ds []Drift) {
	if len(ds) == 0 {
		fmt.Fprintf(out, "%s matches the build.\n", target)
		return
	}
	fmt.Fprintf(out, "%s has drifted from the build in %d way(s):\n", target, len(ds))
	for _, d := range ds {
		line := fmt.Sprintf("  %-9s %s: %s", d.Kind, d.What, d.Problem)
		switch {
		case d.Want != "" && d.Got != "":
			line += fmt.Sprintf(" (want %s, host has %s)", d.Want, d.Got)
		case d.Want != "":
			line += fmt.Sprintf(" (want %s)", d.Want)
		}
		fmt.Fprintln(out, line)
	}
}

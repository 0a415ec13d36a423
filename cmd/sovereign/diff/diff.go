// Package diff tells what an update changes: it compares two output trees
// file by file and unit by unit — files added, removed and
// changed with unified diffs for text, the services that restart and why,
// container images and the appliance image old → new, admins, and the
// capacity plan's figures. Secrets are compared by their bytes in rootfs/
// and reported only as changed: no diff, digest or size of a secret is ever
// shown.
package diff

import (
	"maps"
	"path/filepath"
	"slices"
	"sort"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/units/output"
)

// Report is what changes from OLD to NEW. Its JSON is `sovereign diff --json`.
type Report struct {
	Old string `json:"old"`
	New string `json:"new"`
	// ApplianceImage is the image-mode image, when either side has one.
	ApplianceImage *Change       `json:"appliance_image,omitempty"`
	Files          []FileChange  `json:"files"`
	Images         []ImageChange `json:"images"`
	Services       []Service     `json:"services"`
	Users          []UserChange  `json:"users"`
	Plan           []PlanChange  `json:"plan"`
	// Notes say what the changes mean for applying the update.
	Notes []string `json:"notes"`
}

// Change is an old → new value; empty means absent.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// FileChange is one rootfs file that differs.
type FileChange struct {
	Path string `json:"path"`
	// Change is "added", "removed" or "changed".
	Change string `json:"change"`
	Secret bool   `json:"secret"`
	// Mode is set when the file's mode changed (or it was added/removed).
	Mode *Change `json:"mode,omitempty"`
	// Diff is the unified diff of a text file's contents; never for a secret.
	Diff string `json:"diff,omitempty"`
}

// ImageChange is a container image a unit runs, old → new.
type ImageChange struct {
	Unit string `json:"unit"`
	Change
}

// Service is a systemd service (or timer) the update starts, stops or
// restarts, and why.
type Service struct {
	Name string `json:"name"`
	// Action is "start", "stop" or "restart".
	Action string   `json:"action"`
	Why    []string `json:"why"`
}

// UserChange is an admin added, removed, or whose SSH keys changed.
type UserChange struct {
	Name   string `json:"name"`
	Change string `json:"change"`
	// Keys is how many SSH keys the user has in NEW.
	Keys int `json:"keys"`
}

// PlanChange is one figure of plan.json, old → new. Path names the engine
// first: "main.sessions.32768".
type PlanChange struct {
	Path string `json:"path"`
	Change
}

// Dirs compares the output folders old and new, read through fsys.
func Dirs(fsys afero.Fs, oldDir, newDir string) (*Report, error) {
	return Compare(fsys, oldDir, fsys, newDir)
}

// IsOutput reports whether dir looks like an output folder (it has a
// manifest.json).
func IsOutput(fsys afero.Fs, dir string) bool {
	_, err := fsys.Stat(filepath.Join(dir, output.ManifestFile))
	return err == nil
}

// Compare compares the output folder oldDir of oldFs with newDir of newFs
// (one may be a build held in memory).
func Compare(oldFs afero.Fs, oldDir string, newFs afero.Fs, newDir string) (*Report, error) {
	o, err := read(oldFs, oldDir)
	if err != nil {
		return nil, err
	}
	n, err := read(newFs, newDir)
	if err != nil {
		return nil, err
	}
	r := compare(o, n)
	r.Old, r.New = filepath.Clean(oldDir), filepath.Clean(newDir)
	return r, nil
}

func compare(o, n *tree) *Report {
	r := &Report{Files: []FileChange{}, Images: []ImageChange{}, Services: []Service{}, Users: []UserChange{}, Plan: []PlanChange{}, Notes: []string{}}
	r.ApplianceImage = applianceImage(o, n)
	var changed map[string]string // path → change, for restart impact
	r.Files, changed = files(o, n)
	r.Images = images(o, n)
	r.Services = services(o, n, changed)
	r.Users = users(o, n)
	r.Plan = plan(o, n)
	r.Notes = notes(r, o, n)
	return r
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

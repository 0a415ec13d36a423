// Package diff tells what an update changes: it compares two output trees
// (DESIGN §4) file by file and unit by unit — files added, removed and
// changed with unified diffs for text, the services that restart and why,
// container images and the appliance image old → new, admins, and the
// capacity plan's figures. Secrets are compared by their bytes in rootfs/
// and reported only as changed: no diff, digest or size of a secret is ever
// shown.
package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/afero"
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

// tree is one side of the comparison, read from an output folder.
type tree struct {
	files    map[string]manifestEntry
	contents map[string][]byte
	image    *imageInfo
	users    map[string][]string
	plan     map[string]string
	imageMod bool
}

type manifestEntry struct {
	Path   string `json:"path"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	Secret bool   `json:"secret"`
}

type imageInfo struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

// Dirs compares the output folders old and new, read through fsys.
func Dirs(fsys afero.Fs, oldDir, newDir string) (*Report, error) {
	return Compare(fsys, oldDir, fsys, newDir)
}

// IsOutput reports whether dir looks like an output folder (it has a
// manifest.json).
func IsOutput(fsys afero.Fs, dir string) bool {
	_, err := fsys.Stat(filepath.Join(dir, "manifest.json"))
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

func read(fsys afero.Fs, dir string) (*tree, error) {
	t := &tree{files: map[string]manifestEntry{}, contents: map[string][]byte{}, users: map[string][]string{}, plan: map[string]string{}}
	b, err := afero.ReadFile(fsys, filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a sovereign output (no manifest.json): %w", dir, err)
	}
	var entries []manifestEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	for _, e := range entries {
		t.files[e.Path] = e
		c, err := afero.ReadFile(fsys, filepath.Join(dir, "rootfs", filepath.FromSlash(e.Path)))
		if err != nil {
			return nil, fmt.Errorf("%s lists %s, but rootfs/ lacks it: %w", filepath.Join(dir, "manifest.json"), e.Path, err)
		}
		t.contents[e.Path] = c
	}
	if b, err := afero.ReadFile(fsys, filepath.Join(dir, "image.json")); err == nil {
		t.image = &imageInfo{}
		if err := json.Unmarshal(b, t.image); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "image.json"), err)
		}
	} else if !isNotExist(err) {
		return nil, err
	}
	// Admins are only in the Ignition config. Only names and public keys
	// are read from it.
	if b, err := afero.ReadFile(fsys, filepath.Join(dir, "ignition.json")); err == nil {
		var ign struct {
			Passwd struct {
				Users []struct {
					Name              string   `json:"name"`
					SSHAuthorizedKeys []string `json:"sshAuthorizedKeys"`
				} `json:"users"`
			} `json:"passwd"`
		}
		if err := json.Unmarshal(b, &ign); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "ignition.json"), err)
		}
		for _, u := range ign.Passwd.Users {
			t.users[u.Name] = append([]string{}, u.SSHAuthorizedKeys...)
		}
	} else if !isNotExist(err) {
		return nil, err
	}
	if b, err := afero.ReadFile(fsys, filepath.Join(dir, "plan.json")); err == nil {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "plan.json"), err)
		}
		flatten("", v, t.plan)
	} else if !isNotExist(err) {
		return nil, err
	}
	return t, nil
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}

// flatten turns JSON into path → value leaves. Array elements that are
// objects with an "engine" or "name" are keyed by it, so that a plan
// compares engine by engine whatever their order.
func flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		for i, e := range x {
			key := fmt.Sprint(i)
			if m, ok := e.(map[string]any); ok {
				for _, id := range []string{"engine", "name"} {
					if s, ok := m[id].(string); ok {
						key = s
						break
					}
				}
			}
			flatten(join(key), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

func compare(o, n *tree) *Report {
	r := &Report{Files: []FileChange{}, Images: []ImageChange{}, Services: []Service{}, Users: []UserChange{}, Plan: []PlanChange{}, Notes: []string{}}

	if o.image != nil || n.image != nil {
		c := &Change{}
		if o.image != nil {
			c.Old = o.image.Reference + "@" + o.image.Digest
		}
		if n.image != nil {
			c.New = n.image.Reference + "@" + n.image.Digest
		}
		if c.Old != c.New {
			r.ApplianceImage = c
		}
	}

	changed := map[string]string{} // path → change, for restart impact
	for _, p := range union(keys(o.files), keys(n.files)) {
		oe, inOld := o.files[p]
		ne, inNew := n.files[p]
		fc := FileChange{Path: p, Secret: oe.Secret || ne.Secret}
		switch {
		case !inOld:
			fc.Change, fc.Mode = "added", &Change{New: ne.Mode}
		case !inNew:
			fc.Change, fc.Mode = "removed", &Change{Old: oe.Mode}
		default:
			same := bytes.Equal(o.contents[p], n.contents[p])
			if same && oe.Mode == ne.Mode && oe.Secret == ne.Secret {
				continue
			}
			fc.Change = "changed"
			if oe.Mode != ne.Mode {
				fc.Mode = &Change{Old: oe.Mode, New: ne.Mode}
			}
			if same {
				fc.Change = "mode"
			}
		}
		if !fc.Secret && fc.Change != "mode" {
			fc.Diff = textDiff(p, o.contents[p], n.contents[p], inOld, inNew)
		}
		r.Files = append(r.Files, fc)
		changed[p] = fc.Change
	}

	r.Images = images(o, n)
	r.Services = services(o, n, changed)

	for _, name := range union(keys(o.users), keys(n.users)) {
		ok, inOld := o.users[name]
		nk, inNew := n.users[name]
		switch {
		case !inOld:
			r.Users = append(r.Users, UserChange{Name: name, Change: "added", Keys: len(nk)})
		case !inNew:
			r.Users = append(r.Users, UserChange{Name: name, Change: "removed"})
		case strings.Join(ok, "\n") != strings.Join(nk, "\n"):
			r.Users = append(r.Users, UserChange{Name: name, Change: "keys changed", Keys: len(nk)})
		}
	}

	for _, p := range union(keys(o.plan), keys(n.plan)) {
		if strings.HasSuffix(p, ".why") && (strings.HasPrefix(p, "assumptions.") || strings.Contains(p, ".assumptions.")) {
			continue // prose; its value beside it is compared
		}
		ov, nv := o.plan[p], n.plan[p]
		if ov != nv {
			r.Plan = append(r.Plan, PlanChange{Path: p, Change: Change{Old: ov, New: nv}})
		}
	}

	r.Notes = notes(r, o, n)
	return r
}

// textDiff is the unified diff of a file's two versions, or a note when
// either is not text.
func textDiff(p string, a, b []byte, inOld, inNew bool) string {
	if !isText(a) || !isText(b) {
		return "(binary file)"
	}
	from, to := "old"+p, "new"+p
	if !inOld {
		from = "/dev/null"
	}
	if !inNew {
		to = "/dev/null"
	}
	s, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(b)),
		FromFile: from, ToFile: to, Context: 3,
	})
	if err != nil {
		return fmt.Sprintf("(diff failed: %v)", err)
	}
	return s
}

func isText(b []byte) bool { return utf8.Valid(b) && !bytes.ContainsRune(b, 0) }

// unitDirs are where unit files live in rootfs.
var unitDirs = []string{"/etc/systemd/system/", "/etc/containers/systemd/"}

func isUnitFile(p string) bool {
	for _, d := range unitDirs {
		if strings.HasPrefix(p, d) && !strings.Contains(strings.TrimPrefix(p, d), "/") {
			return true
		}
	}
	return false
}

// serviceOf is the systemd unit a unit file becomes: Quadlet's generator
// names a .container's service after it, a .volume's NAME-volume.service.
func serviceOf(p string) string {
	base := path.Base(p)
	ext := path.Ext(base)
	name := strings.TrimSuffix(base, ext)
	switch ext {
	case ".container", ".kube":
		return name + ".service"
	case ".volume", ".network", ".pod", ".image", ".build":
		return name + "-" + strings.TrimPrefix(ext, ".") + ".service"
	}
	return base
}

type unitInfo struct {
	service string
	paths   []string // absolute paths its values name
	volumes []string // host folders it mounts
	image   string
	needs   []string // Requires=, BindsTo=, PartOf=: restarting one restarts this
}

func units(t *tree) map[string]*unitInfo {
	out := map[string]*unitInfo{}
	for p, c := range t.contents {
		if !isUnitFile(p) || t.files[p].Secret {
			continue
		}
		opts, err := unit.DeserializeOptions(bytes.NewReader(c))
		if err != nil {
			continue
		}
		u := &unitInfo{service: serviceOf(p)}
		for _, o := range opts {
			switch {
			case o.Section == "Container" && o.Name == "Image":
				u.image = o.Value
			case o.Section == "Container" && o.Name == "Volume":
				if host, _, ok := strings.Cut(o.Value, ":"); ok && strings.HasPrefix(host, "/") {
					u.volumes = append(u.volumes, host)
				}
			case o.Section == "Unit" && (o.Name == "Requires" || o.Name == "BindsTo" || o.Name == "PartOf"):
				u.needs = append(u.needs, strings.Fields(o.Value)...)
			}
			for _, tok := range strings.FieldsFunc(o.Value, func(r rune) bool {
				return r == ' ' || r == '\t' || r == '=' || r == ':' || r == '"' || r == '\'' || r == ','
			}) {
				if strings.HasPrefix(tok, "/") {
					u.paths = append(u.paths, strings.TrimLeft(tok, "-@+!"))
				}
			}
		}
		out[p] = u
	}
	return out
}

func images(o, n *tree) []ImageChange {
	ou, nu := units(o), units(n)
	var out []ImageChange
	for _, p := range union(keys(ou), keys(nu)) {
		var oi, ni string
		if u := ou[p]; u != nil {
			oi = u.image
		}
		if u := nu[p]; u != nil {
			ni = u.image
		}
		if oi != ni {
			out = append(out, ImageChange{Unit: path.Base(p), Change: Change{Old: oi, New: ni}})
		}
	}
	if out == nil {
		out = []ImageChange{}
	}
	return out
}

// services works out which services an update starts, stops and restarts:
// a unit file added, removed or changed; a unit whose values name a changed
// file (an EnvironmentFile=, a script, a config it mounts); and, one step
// further, units that Require=, BindTo= or are PartOf= a restarted one,
// which systemd restarts with it.
func services(o, n *tree, changed map[string]string) []Service {
	ou, nu := units(o), units(n)
	byName := map[string]*Service{}
	add := func(name, action, why string) {
		s := byName[name]
		if s == nil {
			s = &Service{Name: name, Action: action}
			byName[name] = s
		}
		if s.Action == "restart" && action != "restart" {
			s.Action = action
		}
		for _, w := range s.Why {
			if w == why {
				return
			}
		}
		s.Why = append(s.Why, why)
	}
	for _, p := range sortedKeys(changed) {
		if !isUnitFile(p) {
			continue
		}
		switch changed[p] {
		case "added":
			if nu[p] != nil {
				add(nu[p].service, "start", path.Base(p)+" added")
			}
		case "removed":
			if ou[p] != nil {
				add(ou[p].service, "stop", path.Base(p)+" removed")
			}
		default:
			if nu[p] != nil {
				add(nu[p].service, "restart", path.Base(p)+" changed")
			}
		}
	}
	for _, up := range sortedKeys(nu) {
		u := nu[up]
		if _, existed := ou[up]; !existed {
			continue // started anyway
		}
		for _, p := range sortedKeys(changed) {
			if isUnitFile(p) {
				continue
			}
			hit := false
			for _, q := range u.paths {
				hit = hit || q == p
			}
			for _, v := range u.volumes {
				hit = hit || strings.HasPrefix(p, strings.TrimSuffix(v, "/")+"/")
			}
			if hit {
				add(u.service, "restart", p+" "+changed[p])
			}
		}
	}
	// One step of Requires=/BindsTo=/PartOf= propagation.
	restarted := map[string]bool{}
	for name, s := range byName {
		if s.Action == "restart" {
			restarted[name] = true
		}
	}
	for _, up := range sortedKeys(nu) {
		u := nu[up]
		for _, need := range u.needs {
			if restarted[need] && need != u.service {
				add(u.service, "restart", "requires "+need)
			}
		}
	}
	out := []Service{}
	for _, name := range sortedKeys(byName) {
		out = append(out, *byName[name])
	}
	return out
}

func notes(r *Report, o, n *tree) []string {
	var out []string
	if len(r.Users) > 0 {
		out = append(out, "Admins changed: Ignition creates users only at first boot, so a running host keeps its old admins "+
			"(in both modes) until it is reprovisioned or they are changed by hand.")
	}
	secrets := 0
	for _, f := range r.Files {
		if f.Secret {
			secrets++
		}
	}
	if secrets > 0 && (o.image != nil || n.image != nil) {
		out = append(out, fmt.Sprintf("%d secret file(s) changed: the appliance image never carries secrets; copy them from NEW/rootfs/ to the host (mode 0600) before switching.", secrets))
	}
	if r.ApplianceImage != nil && r.ApplianceImage.New != "" {
		out = append(out, "Apply by switching to the new image and rebooting: sudo /usr/libexec/sovereign/update "+pinned(n.image))
	}
	return append([]string{}, out...)
}

func pinned(i *imageInfo) string {
	repo := i.Reference
	if at := strings.LastIndex(repo, "/"); at >= 0 {
		if c := strings.LastIndex(repo[at:], ":"); c >= 0 {
			repo = repo[:at+c]
		}
	}
	return repo + "@" + i.Digest
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

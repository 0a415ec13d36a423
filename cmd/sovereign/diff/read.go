package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/units/output"
)

// tree is one side of the comparison, read from an output folder.
type tree struct {
	files    map[string]output.ManifestEntry
	contents map[string][]byte
	// units are the unit files, as the manifest describes them.
	units map[string]output.UnitFile
	// unrecorded: unit files whose manifest entry does not describe them
	// (an output of an earlier sovereign).
	unrecorded bool
	image      *imageInfo
	users      map[string][]string
	plan       map[string]string
}

type imageInfo struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

func read(fsys afero.Fs, dir string) (*tree, error) {
	t := &tree{files: map[string]output.ManifestEntry{}, contents: map[string][]byte{}, users: map[string][]string{}, plan: map[string]string{}}
	for _, part := range []func(afero.Fs, string) error{t.readRootfs, t.readImage, t.readUsers, t.readPlan} {
		if err := part(fsys, dir); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readRootfs reads the manifest and every file it lists.
func (t *tree) readRootfs(fsys afero.Fs, dir string) error {
	b, err := afero.ReadFile(fsys, filepath.Join(dir, output.ManifestFile))
	if err != nil {
		return fmt.Errorf("%s is not a sovereign output (no %s): %w", dir, output.ManifestFile, err)
	}
	entries, err := output.ReadManifest(b)
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(dir, output.ManifestFile), err)
	}
	for _, e := range entries {
		t.files[e.Path] = e
		c, err := afero.ReadFile(fsys, filepath.Join(dir, output.RootfsDir, filepath.FromSlash(e.Path)))
		if err != nil {
			return fmt.Errorf("%s lists %s, but %s/ lacks it: %w", filepath.Join(dir, output.ManifestFile), e.Path, output.RootfsDir, err)
		}
		t.contents[e.Path] = c
		if _, isUnit := output.ServiceOfPath(e.Path); isUnit && e.Unit == nil {
			t.unrecorded = true
		}
	}
	t.units = output.UnitFiles(entries)
	return nil
}

func (t *tree) readImage(fsys afero.Fs, dir string) error {
	var info imageInfo
	found, err := readJSON(fsys, dir, output.ImageInfo, &info)
	if found {
		t.image = &info
	}
	return err
}

// readUsers reads the admins, which are only in the Ignition config. Only
// names and public keys are read from it.
func (t *tree) readUsers(fsys afero.Fs, dir string) error {
	var ign struct {
		Passwd struct {
			Users []struct {
				Name              string   `json:"name"`
				SSHAuthorizedKeys []string `json:"sshAuthorizedKeys"`
			} `json:"users"`
		} `json:"passwd"`
	}
	_, err := readJSON(fsys, dir, output.IgnitionFile, &ign)
	for _, u := range ign.Passwd.Users {
		t.users[u.Name] = append([]string{}, u.SSHAuthorizedKeys...)
	}
	return err
}

func (t *tree) readPlan(fsys afero.Fs, dir string) error {
	var v any
	found, err := readJSON(fsys, dir, output.PlanFile, &v)
	if found {
		flatten("", v, t.plan)
	}
	return err
}

// readJSON reads the output file name into v; a file that is not there is
// not an error (an older output, or no image mode), found says whether it was.
func readJSON(fsys afero.Fs, dir, name string, v any) (found bool, err error) {
	b, err := afero.ReadFile(fsys, filepath.Join(dir, name))
	if isNotExist(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("reading %s: %w", filepath.Join(dir, name), err)
	}
	return true, nil
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

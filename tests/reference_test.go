// Package tests holds the end-to-end tests: golden trees of the reference
// blueprints, the real validators (Podman's quadlet, systemd-analyze,
// ignition-validate, butane, Ignition itself) over what sovereign writes, the
// bad-input corpus, determinism and the package layering.
package tests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/golden"
	"github.com/sovereign-collective/sovereign/tests/peers"
	"github.com/sovereign-collective/sovereign/units/output"
)

// blueprintCase is a blueprint the end-to-end tests build, with the units it
// must produce (so a test cannot pass by checking nothing).
type blueprintCase struct {
	name      string // golden folder name
	path      string
	vars      []lang.VarSetting
	env       []string
	wantUnits int // units systemd-analyze must verify, after quadlet
}

var referenceCases = []blueprintCase{
	{name: "dgx-station-gb300", path: "../blueprints/dgx-station-gb300.hcl", wantUnits: 19},
	{name: "cloud-audition-h100", path: "../blueprints/cloud-audition-h100.hcl", wantUnits: 7},
	// Everything the reference blueprints leave out: a data disk, two
	// engines, a secret API key, extra arguments that need quoting.
	{name: "kitchen-sink", path: "testdata/blueprints/kitchen-sink", env: []string{"SOVEREIGN_TEST_API_KEY=sk-kitchen-sink-secret"}, wantUnits: 7},
	// vLLM, SGLang and NIM side by side on one GPU.
	{name: "three-engines", path: "testdata/blueprints/three-engines", wantUnits: 14},
	// The wan and ups blocks with static uplinks and a secret UPS password.
	resilienceCase(),
}

// build runs the pipeline on the real filesystem and writes out/ into a
// fresh temporary folder, which it returns.
func build(t testing.TB, c blueprintCase, opts ...pipeline.Option) (string, *pipeline.Result) {
	t.Helper()
	p := decode.NewLoader(afero.NewOsFs(), engines.Kinds)
	res, diags := pipeline.Build(p, c.path, lang.Inputs{Vars: c.vars, Env: c.env}, opts...)
	if diags.HasErrors() {
		var buf bytes.Buffer
		for _, d := range diags {
			buf.WriteString(d.Error() + "\n")
		}
		t.Fatalf("building %s:\n%s", c.path, buf.String())
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := pipeline.Write(afero.NewOsFs(), out, res); err != nil {
		t.Fatal(err)
	}
	return out, res
}

// readTree returns every regular file below dir, by slash-separated
// relative path.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestReferenceGolden compares the whole output tree of each reference
// blueprint — every unit, Quadlet, config file, config.bu, manifest and the
// Ignition config — with testdata/golden. `make golden` rewrites them.
func TestReferenceGolden(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			out, _ := build(t, c)
			got := readTree(t, out)
			goldenDir := filepath.Join("testdata", "golden", c.name)
			if golden.Updating() {
				os.RemoveAll(goldenDir)
			}
			for _, rel := range sortedKeys(got) {
				golden.Check(t, filepath.Join(goldenDir, filepath.FromSlash(rel)), got[rel])
			}
			// A file the build stopped writing must not linger as a golden.
			want := readTree(t, goldenDir)
			if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
				t.Errorf("output files differ from the golden tree (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReferenceValidators runs the real peers over each build: every unit
// through Podman's quadlet generator and systemd-analyze verify, the Ignition
// config through ignition-validate, config.bu through the butane CLI (which
// must give the same Ignition config), and finally the real Ignition files
// stage into a scratch root, after which every file of the manifest must be
// there with its mode and digest.
func TestReferenceValidators(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, res := build(t, c)
			rootfs := filepath.Join(out, output.RootfsDir)
			ign := filepath.Join(out, output.IgnitionFile)

			if n := peers.VerifyUnits(t, rootfs); n != c.wantUnits {
				t.Errorf("systemd-analyze verified %d units, want %d", n, c.wantUnits)
			}
			peers.IgnitionValidate(t, ign)

			fromButane := peers.ButaneTranslate(t, filepath.Join(out, output.ButaneFile), rootfs)
			if diff := cmp.Diff(canonicalJSON(t, res.Ignition), canonicalJSON(t, fromButane)); diff != "" {
				t.Errorf("butane --strict config.bu differs from ignition.json (-ours +butane):\n%s", diff)
			}

			sysroot := peers.ApplyIgnition(t, ign)
			checkApplied(t, sysroot, res)
		})
	}
}

// checkApplied checks what Ignition wrote into sysroot against the build.
func checkApplied(t *testing.T, sysroot string, res *pipeline.Result) {
	t.Helper()
	var manifest []output.ManifestEntry
	if err := json.Unmarshal(res.Manifest, &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) == 0 {
		t.Fatal("empty manifest")
	}
	for _, m := range manifest {
		p := filepath.Join(sysroot, m.Path)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s was not written by Ignition: %v", m.Path, err)
			continue
		}
		sum := sha256.Sum256(b)
		switch got := hex.EncodeToString(sum[:]); {
		case m.Secret && m.SHA256 != "":
			t.Errorf("%s: the manifest shows a secret file's digest", m.Path)
		case m.Secret && !bytes.Equal(b, rootfsFile(t, res, m.Path)):
			t.Errorf("%s: the secret Ignition wrote differs from rootfs/", m.Path)
		case !m.Secret && got != m.SHA256:
			t.Errorf("%s: sha256 %s, manifest says %s", m.Path, got, m.SHA256)
		}
		info, _ := os.Stat(p)
		if got := info.Mode().Perm(); got.String() != fs.FileMode(parseMode(t, m.Mode)).String() {
			t.Errorf("%s: mode %v, manifest says %s", m.Path, got, m.Mode)
		}
	}

	passwd := readString(t, filepath.Join(sysroot, "etc/passwd"))
	group := readString(t, filepath.Join(sysroot, "etc/group"))
	for _, u := range res.Tree.Users {
		if !strings.Contains(passwd, "\n"+u.Name+":") && !strings.HasPrefix(passwd, u.Name+":") {
			t.Errorf("user %s missing from /etc/passwd:\n%s", u.Name, passwd)
		}
		for _, g := range u.Groups {
			if !groupHasMember(group, g, u.Name) {
				t.Errorf("user %s is not in group %s:\n%s", u.Name, g, group)
			}
		}
		keys := readString(t, filepath.Join(sysroot, "home", u.Name, ".ssh/authorized_keys.d/ignition"))
		for _, k := range u.SSHAuthorizedKeys {
			if !strings.Contains(keys, k) {
				t.Errorf("user %s's authorized keys lack %q:\n%s", u.Name, k, keys)
			}
		}
	}
	for _, d := range res.Tree.Directories {
		info, err := os.Stat(filepath.Join(sysroot, d.Path))
		if err != nil || !info.IsDir() || int(info.Mode().Perm()) != d.Mode {
			t.Errorf("folder %s: %v (mode %v), want mode %04o", d.Path, err, info.Mode().Perm(), d.Mode)
		}
	}
	for _, l := range res.Tree.Links {
		target, err := os.Readlink(filepath.Join(sysroot, l.Path))
		if err != nil || target != l.Target {
			t.Errorf("link %s → %q (%v), want → %q", l.Path, target, err, l.Target)
		}
	}
	preset := readString(t, filepath.Join(sysroot, "etc/systemd/system-preset/20-ignition.preset"))
	for _, u := range res.Tree.Units {
		if u.Enabled && !strings.Contains(preset, "enable "+u.Name) {
			t.Errorf("unit %s is not enabled by Ignition's preset:\n%s", u.Name, preset)
		}
	}
}

func rootfsFile(t *testing.T, res *pipeline.Result, p string) []byte {
	for _, f := range res.Rootfs {
		if f.Path == p {
			return f.Contents
		}
	}
	t.Fatalf("%s is not in the build's rootfs", p)
	return nil
}

func groupHasMember(group, name, member string) bool {
	for _, line := range strings.Split(group, "\n") {
		fields := strings.Split(line, ":")
		if len(fields) == 4 && fields[0] == name {
			for _, m := range strings.Split(fields[3], ",") {
				if m == member {
					return true
				}
			}
		}
	}
	return false
}

func parseMode(t testing.TB, s string) uint32 {
	var m uint32
	for _, c := range s {
		if c < '0' || c > '7' {
			t.Fatalf("bad mode %q", s)
		}
		m = m*8 + uint32(c-'0')
	}
	return m
}

func readString(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func canonicalJSON(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(v, "", " ")
	return string(out)
}

package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// TestBuildsAreByteIdentical builds each reference blueprint twice, from
// scratch, and requires the two output trees to be the same bytes.
func TestBuildsAreByteIdentical(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			first, _ := build(t, c)
			second, _ := build(t, c)
			a, b := readTree(t, first), readTree(t, second)
			if diff := cmp.Diff(sortedKeys(a), sortedKeys(b)); diff != "" {
				t.Fatalf("file lists differ (-first +second):\n%s", diff)
			}
			for name := range a {
				if !bytes.Equal(a[name], b[name]) {
					t.Errorf("%s differs between two builds of the same input", name)
				}
			}
		})
	}
}

// TestChangedInputChangesOnlyItsFiles changes one input at a time and
// requires exactly the files that depend on it to change: an update that
// touches more than it should would restart services for nothing.
func TestChangedInputChangesOnlyItsFiles(t *testing.T) {
	base := referenceCases[0]
	tests := []struct {
		name   string
		change func(t *testing.T) blueprintCase
		want   []string
	}{
		{
			name: "hostname variable",
			change: func(t *testing.T) blueprintCase {
				c := base
				c.vars = []lang.VarSetting{{Name: "hostname", Value: "coop-two"}}
				return c
			},
			// config.bu names rootfs files rather than inlining them, so
			// it does not change with a file's contents.
			want: []string{"ignition.json", "manifest.json", "rootfs/etc/hostname", "rootfs/etc/sovereign/manifest"},
		},
		{
			name: "engine option",
			change: func(t *testing.T) blueprintCase {
				return editedCopy(t, base.path, "gpu_memory_utilization = 0.95", "gpu_memory_utilization = 0.9")
			},
			// The plan changes with the engine's share of GPU memory.
			want: []string{"ignition.json", "manifest.json", "plan.json", "rootfs/etc/containers/systemd/vllm-main.container", "rootfs/etc/sovereign/manifest"},
		},
		{
			name: "admin key",
			change: func(t *testing.T) blueprintCase {
				c := editedCopy(t, base.path, "", "")
				key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c3Rlc3RrZXlmb3JkZXRlcm1pbmlzbXRlc3RzMDAwMDA other-admin\n"
				if err := os.WriteFile(filepath.Join(filepath.Dir(c.path), "keys", "admin.pub"), []byte(key), 0o644); err != nil {
					t.Fatal(err)
				}
				return c
			},
			// Users are part of the Ignition config only, not of rootfs.
			want: []string{"config.bu", "ignition.json"},
		},
	}
	before, _ := build(t, base)
	old := readTree(t, before)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after, _ := build(t, tc.change(t))
			got := changedFiles(old, readTree(t, after))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
		})
	}
}

// editedCopy copies a reference blueprint and its keys into a temporary
// folder with one textual replacement, and returns a case building it.
func editedCopy(t *testing.T, path, old, new string) blueprintCase {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if old != "" && !bytes.Contains(src, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(dst, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The lock beside the blueprint pins its images.
	lockName := strings.TrimSuffix(filepath.Base(path), ".hcl") + ".lock.hcl"
	if lock, err := os.ReadFile(filepath.Join(filepath.Dir(path), lockName)); err == nil {
		if err := os.WriteFile(filepath.Join(dir, lockName), lock, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(filepath.Join(filepath.Dir(path), "keys", "admin.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "admin.pub"), key, 0o644); err != nil {
		t.Fatal(err)
	}
	// The shared service module (engine options, gateway, example secrets),
	// linked unchanged.
	gateway, err := filepath.Abs(filepath.Join(filepath.Dir(path), "collective"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(gateway, filepath.Join(dir, "collective")); err != nil {
		t.Fatal(err)
	}
	return blueprintCase{name: "edited", path: dst}
}

func changedFiles(a, b map[string][]byte) []string {
	var out []string
	for _, name := range sortedKeys(a) {
		if !bytes.Equal(a[name], b[name]) {
			out = append(out, name)
		}
	}
	for _, name := range sortedKeys(b) {
		if _, ok := a[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

package images_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/units"
)

func loadUnit(t *testing.T, tree *units.Tree) string {
	t.Helper()
	for _, u := range tree.Units {
		if u.Name == images.LoadService {
			b, err := u.Render()
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("no %s in the tree", images.LoadService)
	return ""
}

func pinnedTree(t *testing.T, refs ...string) *units.Tree {
	t.Helper()
	tree := treeWith(refs...)
	lock := sampleLock()
	lock.Exists = true
	if diags := images.Pin(tree, lock, "linux/arm64"); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return tree
}

func TestAddLoadUnit(t *testing.T) {
	origin := hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: 1, Column: 1}}
	tree := pinnedTree(t, "docker.io/vllm/vllm-openai:v0.14.0", "quay.io/c/d@"+armDigest, "nvcr.io/nim/x:1.0")
	tree, diags := images.AddLoadUnit(tree, "SOVEREIGN", origin)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	got := loadUnit(t, tree)
	for _, want := range []string{
		// Before every container, whichever image it runs.
		"Before=a.service b.service c.service\n",
		"ExecStartPre=/usr/bin/mount -o ro /dev/disk/by-label/SOVEREIGN /var/mnt/sovereign-bundle\n",
		// Each pinned image under the name the bundle gives it.
		"ExecStart=/usr/bin/skopeo copy --preserve-digests oci:/var/mnt/sovereign-bundle:docker.io/vllm/vllm-openai:v0.14.0 containers-storage:docker.io/vllm/vllm-openai:v0.14.0\n",
		"ExecStart=/usr/bin/skopeo copy --preserve-digests oci:/var/mnt/sovereign-bundle:quay.io/c/d@" + armDigest + " containers-storage:quay.io/c/d@" + armDigest + "\n",
		"ConditionPathExists=!/var/lib/sovereign/images/loaded-",
		"ExecStopPost=-/usr/bin/umount /var/mnt/sovereign-bundle\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("load unit lacks %q:\n%s", want, got)
		}
	}
	// The unpinned image is not in the bundle: it is pulled.
	if strings.Contains(got, "nvcr.io") {
		t.Errorf("the unpinned image is loaded from the bundle:\n%s", got)
	}
	var dirs []string
	for _, d := range tree.Directories {
		dirs = append(dirs, d.Path)
	}
	if !strings.Contains(strings.Join(dirs, " "), images.BundleMount) || !strings.Contains(strings.Join(dirs, " "), images.LoadedDir) {
		t.Errorf("directories %v lack the mount point and the stamp folder", dirs)
	}

	// The stamp follows the set of images: the same set, the same stamp (a
	// rebuild does not load again); another digest, another stamp.
	again, _ := images.AddLoadUnit(pinnedTree(t, "docker.io/vllm/vllm-openai:v0.14.0", "quay.io/c/d@"+armDigest, "nvcr.io/nim/x:1.0"), "SOVEREIGN", origin)
	other, _ := images.AddLoadUnit(pinnedTree(t, "docker.io/vllm/vllm-openai:v0.14.0", "quay.io/c/d@"+otherDigest, "nvcr.io/nim/x:1.0"), "SOVEREIGN", origin)
	stamp := func(s string) string { _, after, _ := strings.Cut(s, "loaded-"); return after[:16] }
	if stamp(loadUnit(t, again)) != stamp(got) || stamp(loadUnit(t, other)) == stamp(got) {
		t.Errorf("stamps: %s, again %s, other images %s", stamp(got), stamp(loadUnit(t, again)), stamp(loadUnit(t, other)))
	}
}

func TestAddLoadUnitRefuses(t *testing.T) {
	origin := hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: 1, Column: 1}}
	for _, tc := range []struct {
		name, label, summary string
		tree                 *units.Tree
	}{
		{"label with a slash", "a/b", "Invalid bundle label", pinnedTree(t, "quay.io/a/b:1")},
		{"label too long", "ABCDEFGHIJKLMNOPQ", "Invalid bundle label", pinnedTree(t, "quay.io/a/b:1")},
		{"no containers", "SOVEREIGN", "Nothing to load from the bundle", &units.Tree{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := images.AddLoadUnit(tc.tree, tc.label, origin)
			if len(diags) != 1 || diags[0].Summary != tc.summary || diags[0].Subject == nil {
				t.Errorf("diags %v, want one %q", diags, tc.summary)
			}
		})
	}
}

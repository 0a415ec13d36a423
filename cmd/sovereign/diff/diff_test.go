package diff_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/diff"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/golden"
)

const kitchenSink = "../../../tests/testdata/blueprints/kitchen-sink"

// edit is one change to a blueprint file: Old must occur exactly once.
type edit struct{ file, old, new string }

// buildVariant copies kitchen-sink into memory, applies the edits, builds it
// and writes the output to out; it returns the in-memory filesystem.
func buildVariant(t *testing.T, fsys afero.Fs, out string, env []string, edits ...edit) {
	t.Helper()
	src := "/bp/" + filepath.Base(out)
	err := filepath.WalkDir(kitchenSink, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(kitchenSink, p)
		for _, e := range edits {
			if e.file == rel {
				if n := bytes.Count(b, []byte(e.old)); n != 1 {
					t.Fatalf("%s: %q occurs %d times", rel, e.old, n)
				}
				b = bytes.Replace(b, []byte(e.old), []byte(e.new), 1)
			}
		}
		return afero.WriteFile(fsys, filepath.Join(src, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := decode.NewLoader(fsys, engines.Kinds)
	if env == nil {
		env = []string{"SOVEREIGN_TEST_API_KEY=sk-kitchen-sink-secret"}
	}
	res, diags := pipeline.Build(p, src, lang.Inputs{Env: env})
	if diags.HasErrors() {
		t.Fatalf("building the %s variant: %s", out, diags.Error())
	}
	if err := pipeline.Write(fsys, out, res); err != nil {
		t.Fatal(err)
	}
}

// TestGolden diffs kitchen-sink against edited copies of itself. The
// golden files show, in text and JSON, exactly what each edit changes.
func TestGolden(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		edits []edit
		// images, when set, are the image.json digests of old and new
		// (image mode).
		images []string
		// want are facts checked besides the golden files, so that a
		// golden rewritten by mistake still cannot hide a lost change.
		want func(t *testing.T, r *diff.Report)
	}{
		{name: "unchanged", want: func(t *testing.T, r *diff.Report) {
			if !r.Empty() {
				t.Errorf("two builds of one blueprint differ: %+v", r)
			}
		}},
		{name: "new-admin", edits: []edit{{"main.hcl", "  storage {", "  admin \"third\" {\n    ssh_authorized_keys = [file(\"keys/second.pub\")]\n  }\n\n  storage {"}},
			want: func(t *testing.T, r *diff.Report) {
				if len(r.Users) != 1 || r.Users[0].Name != "third" || r.Users[0].Change != "added" || len(r.Files) != 0 {
					t.Errorf("users %+v files %+v; want only the admin third added", r.Users, r.Files)
				}
			}},
		{name: "engine-option", edits: []edit{{"engines.hcl", "gpu_memory_utilization = 0.45", "gpu_memory_utilization = 0.5"}},
			want: func(t *testing.T, r *diff.Report) {
				// The host's manifest lists every file's digest, so it changes with any file.
				if len(r.Files) != 2 || r.Files[0].Path != "/etc/containers/systemd/vllm-big.container" || r.Files[1].Path != "/etc/sovereign/manifest" {
					t.Errorf("files %+v; want only vllm-big.container and the host manifest", r.Files)
				}
				if len(r.Services) != 1 || r.Services[0].Name != "vllm-big.service" || r.Services[0].Action != "restart" {
					t.Errorf("services %+v; want vllm-big restarted", r.Services)
				}
				if !hasPlan(r, "big.sessions.32768") || !hasPlan(r, "big.kv_budget_bytes") {
					t.Errorf("plan changes %+v lack big's sessions and KV budget", r.Plan)
				}
			}},
		{name: "engine-image", edits: []edit{{"engines.hcl",
			`image                  = "docker.io/vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c"`,
			`image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"`}},
			want: func(t *testing.T, r *diff.Report) {
				if len(r.Images) != 1 || r.Images[0].Unit != "vllm-fast.container" || !strings.HasSuffix(r.Images[0].New, "1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd") {
					t.Errorf("images %+v; want vllm-fast's new digest", r.Images)
				}
				if len(r.Services) != 1 || r.Services[0].Name != "vllm-fast.service" {
					t.Errorf("services %+v; want vllm-fast restarted", r.Services)
				}
			}},
		{name: "model-revision", edits: []edit{{"engines.hcl", `revision = "89abcdef0123456789abcdef0123456789abcdef"`, `revision = "fedcba9876543210fedcba9876543210fedcba98"`}},
			want: func(t *testing.T, r *diff.Report) {
				restarted := map[string]string{}
				for _, s := range r.Services {
					restarted[s.Name] = s.Action
				}
				if restarted["sovereign-model-qwen3-30b.service"] != "restart" || restarted["vllm-big.service"] != "restart" || restarted["vllm-fast.service"] != "" {
					t.Errorf("services %+v; want the model's unit and, as it requires it, vllm-big restarted, and vllm-fast left alone", r.Services)
				}
			}},
		{name: "image-mode", env: []string{"SOVEREIGN_TEST_API_KEY=sk-rotated"},
			images: []string{"sha256:" + strings.Repeat("1", 64), "sha256:" + strings.Repeat("2", 64)},
			want: func(t *testing.T, r *diff.Report) {
				if r.ApplianceImage == nil || r.ApplianceImage.New != "registry.example.org/coop/appliance:v2@sha256:"+strings.Repeat("2", 64) {
					t.Errorf("appliance image %+v", r.ApplianceImage)
				}
				if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "copy them from NEW/rootfs/") ||
					r.Notes[1] != "Apply by switching to the new image and rebooting: sudo /usr/libexec/sovereign/update registry.example.org/coop/appliance@sha256:"+strings.Repeat("2", 64) {
					t.Errorf("notes %q; want the secret to copy and the update command", r.Notes)
				}
			}},
		{name: "secret", env: []string{"SOVEREIGN_TEST_API_KEY=sk-rotated"},
			want: func(t *testing.T, r *diff.Report) {
				if len(r.Files) != 1 || !r.Files[0].Secret || r.Files[0].Diff != "" {
					t.Errorf("files %+v; want one secret, without a diff", r.Files)
				}
				if len(r.Services) != 1 || r.Services[0].Name != "vllm-fast.service" {
					t.Errorf("services %+v; want vllm-fast restarted for its key", r.Services)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := afero.NewMemMapFs()
			buildVariant(t, fsys, "/out.old", nil)
			buildVariant(t, fsys, "/out", tc.env, tc.edits...)
			for i, d := range tc.images {
				dir := []string{"/out.old", "/out"}[i]
				info := fmt.Sprintf(`{"reference": "registry.example.org/coop/appliance:v%d", "digest": %q}`, i+1, d)
				if err := afero.WriteFile(fsys, filepath.Join(dir, "image.json"), []byte(info), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := diff.Dirs(fsys, "/out.old", "/out")
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := r.Text(&text); err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"sk-kitchen-sink-secret", "sk-rotated"} {
				if strings.Contains(text.String(), secret) || strings.Contains(string(js), secret) {
					t.Fatalf("the diff shows the secret %q", secret)
				}
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".txt"), text.Bytes())
			golden.Check(t, filepath.Join("testdata", tc.name+".json"), append(js, '\n'))
			tc.want(t, r)
		})
	}
}

func hasPlan(r *diff.Report, p string) bool {
	for _, c := range r.Plan {
		if c.Path == p {
			return true
		}
	}
	return false
}

// TestNotAnOutput: a folder without manifest.json is refused by name.
func TestNotAnOutput(t *testing.T) {
	fsys := afero.NewMemMapFs()
	fsys.MkdirAll("/empty", 0o755)
	buildVariant(t, fsys, "/out", nil)
	if _, err := diff.Dirs(fsys, "/empty", "/out"); err == nil || !strings.Contains(err.Error(), "/empty is not a sovereign output") {
		t.Fatalf("err = %v", err)
	}
}

// TestServicesFromTheManifest: the services an update restarts come from
// what manifest.json records about each unit, not from reading unit files
// back: an output whose manifest does not describe its units (one built by
// an earlier sovereign) gets a note instead of guessed services.
func TestServicesFromTheManifest(t *testing.T) {
	fsys := afero.NewMemMapFs()
	buildVariant(t, fsys, "/out.old", nil)
	buildVariant(t, fsys, "/out", nil, edit{"engines.hcl", "gpu_memory_utilization = 0.45", "gpu_memory_utilization = 0.5"})
	r, err := diff.Dirs(fsys, "/out.old", "/out")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Services) != 1 || r.Services[0].Name != "vllm-big.service" {
		t.Fatalf("services %+v; want vllm-big restarted", r.Services)
	}

	// Strip the unit records from the old manifest.
	b, err := afero.ReadFile(fsys, "/out.old/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		delete(e, "unit")
	}
	if b, err = json.Marshal(entries); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fsys, "/out.old/manifest.json", b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = diff.Dirs(fsys, "/out.old", "/out")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Services) != 0 || len(r.Images) != 0 {
		t.Errorf("services %+v, images %+v from an output that does not describe its units", r.Services, r.Images)
	}
	if len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], "OLD was built by an earlier sovereign") {
		t.Errorf("notes %q", r.Notes)
	}
}

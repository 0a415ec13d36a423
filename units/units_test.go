package units_test

import (
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

func at(line int) hcl.Range {
	return hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: line}, End: hcl.Pos{Line: line}}
}

// TestMergeConflicts: two contributions claiming one thing is an error at
// the second claim that names the first, never a silent winner.
func TestMergeConflicts(t *testing.T) {
	tests := []struct {
		name        string
		a, b        *units.Tree
		wantSummary string
	}{
		{
			name:        "same file",
			a:           &units.Tree{Files: []*units.File{{Path: "/etc/x", Mode: 0o644, Origin: at(1)}}},
			b:           &units.Tree{Files: []*units.File{{Path: "/etc/x", Mode: 0o644, Origin: at(2)}}},
			wantSummary: "Conflicting path",
		},
		{
			name:        "a unit where a file is",
			a:           &units.Tree{Files: []*units.File{{Path: "/etc/systemd/system/a.service", Mode: 0o644, Origin: at(1)}}},
			b:           &units.Tree{Units: []*units.Unit{{Name: "a.service", Origin: at(2)}}},
			wantSummary: "Conflicting path",
		},
		{
			name:        "same user",
			a:           &units.Tree{Users: []*units.User{{Name: "ops", Origin: at(1)}}},
			b:           &units.Tree{Users: []*units.User{{Name: "ops", Origin: at(2)}}},
			wantSummary: "Conflicting user",
		},
		{
			name:        "a folder wanted with two modes",
			a:           &units.Tree{Directories: []*units.Directory{{Path: "/var/lib/x", Mode: 0o755, Origin: at(1)}}},
			b:           &units.Tree{Directories: []*units.Directory{{Path: "/var/lib/x", Mode: 0o700, Origin: at(2)}}},
			wantSummary: "Conflicting folder modes",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := units.Merge(tc.a, tc.b)
			if len(diags) != 1 {
				t.Fatalf("want one diagnostic, got %v", diags)
			}
			d := diags[0]
			if d.Summary != tc.wantSummary || d.Subject == nil || d.Subject.Start.Line != 2 || !strings.Contains(d.Detail, "bp.hcl:1") {
				t.Errorf("got %q at %v: %s", d.Summary, d.Subject, d.Detail)
			}
		})
	}

	// The same folder with the same mode is shared, not a conflict.
	tree, diags := units.Merge(
		&units.Tree{Directories: []*units.Directory{{Path: "/var/lib/x", Mode: 0o755, Origin: at(1)}}},
		&units.Tree{Directories: []*units.Directory{{Path: "/var/lib/x", Mode: 0o755, Origin: at(2)}}},
	)
	if len(diags) != 0 || len(tree.Directories) != 1 {
		t.Errorf("shared folder: %v, %d folders", diags, len(tree.Directories))
	}
}

// TestRenderRoundTrips: every rendered unit reads back with go-systemd as
// the options it was built from, in order, repeated keys included.
func TestRenderRoundTrips(t *testing.T) {
	u := &units.Unit{Name: "x.container", Image: &units.Image{Ref: "r:t", Pinned: "docker.io/r@sha256:aa"}}
	u.Set("Unit", "Description", "an engine")
	u.Set("Container", "Environment", units.QuoteWord("NOTE=50% of $HOME, \"quoted\""))
	u.Set("Container", "Environment", "A=1")
	u.Set("Install", "WantedBy", "multi-user.target")
	b, err := u.Render()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := unit.DeserializeOptions(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range opts {
		got = append(got, o.Section+"/"+o.Name+"="+o.Value)
	}
	want := []string{
		"Unit/Description=an engine",
		"Container/Image=docker.io/r@sha256:aa",
		`Container/Environment="NOTE=50%% of $$HOME, \"quoted\""`,
		"Container/Environment=A=1",
		"Install/WantedBy=multi-user.target",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestRenderRefusesSmuggledLines: a value with a line break would start a
// new directive in the unit file.
func TestRenderRefusesSmuggledLines(t *testing.T) {
	u := &units.Unit{Name: "x.service"}
	u.Set("Service", "Environment", "A=1\nExecStartPre=/bin/evil")
	if _, err := u.Render(); err == nil {
		t.Fatal("a value with a newline was rendered")
	}
	unpinned := &units.Unit{Name: "y.container", Image: &units.Image{Ref: "r:t"}}
	unpinned.Set("Container", "Exec", "--x")
	if _, err := unpinned.Render(); err == nil {
		t.Fatal("a Quadlet with an unpinned image was rendered")
	}
}

func TestQuoteWord(t *testing.T) {
	for in, want := range map[string]string{
		"plain-word_1.2/x:y,z=a+b@c": "plain-word_1.2/x:y,z=a+b@c",
		"":                           `""`,
		"two words":                  `"two words"`,
		`back\slash "q"`:             `"back\\slash \"q\""`,
		"50%":                        `"50%%"`,
		"$HOME":                      `"$$HOME"`,
	} {
		if got := units.QuoteWord(in); got != want {
			t.Errorf("QuoteWord(%q) = %s, want %s", in, got, want)
		}
	}
}

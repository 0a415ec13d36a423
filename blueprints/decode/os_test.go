package decode_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

func osBlock(body string) string { return "\nos {\n" + body + "\n}\n" }

const (
	fcosBase   = `  base = "quay.io/fedora/fedora-coreos:42.20250721.3.0"`
	centosBase = `  base = "quay.io/centos-bootc/centos-bootc:stream10"`
)

func TestOSBlock(t *testing.T) {
	files := map[string]string{"bp.hcl": testAppliance + testModel + testEngine + osBlock(centosBase+`
  nvidia_driver    = "580.126.20"
  packages         = ["tmux", "libstdc++"]
  kernel_arguments = ["nvidia-drm.modeset=1", "init_on_alloc=0"]`)}
	p := testParser(t, files)
	bp, diags := p.Load("bp.hcl", lang.Inputs{})
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("want no diagnostics (CentOS Stream bootc gets kernel-64k on arm64), got:\n%s", formatDiags(p, diags))
	}
	got := bp.OS
	want := spec.NVIDIADriver{Version: "580.126.20", Branch: 580, Flavour: spec.FlavourOpen}
	if diff := cmp.Diff(want, got.Driver, cmp.FilterPath(func(p cmp.Path) bool { return strings.HasSuffix(p.String(), "Range") }, cmp.Ignore())); diff != "" {
		t.Errorf("driver (-want +got):\n%s", diff)
	}
	if !got.Driver.Exact() {
		t.Error("580.126.20 is an exact release")
	}
	var names []string
	for _, pk := range got.Packages {
		names = append(names, pk.Name)
		if pk.Range.Start.Line == 0 {
			t.Errorf("package %s has no range", pk.Name)
		}
	}
	if diff := cmp.Diff([]string{"tmux", "libstdc++"}, names); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
}

// The rules that depend on the machine come from the hardware catalog and
// stop at the line that breaks them.
func TestOSBlockRules(t *testing.T) {
	cases := []struct {
		name, hardware, body string
		want                 []string
	}{
		{"proprietary on Blackwell", "dgx-station-gb300", centosBase + "\n  nvidia_driver = \"580\"\n  driver_flavour = \"proprietary\"",
			[]string{"bp.hcl:24,20: GPU needs the open kernel modules"}},
		{"lts and 570 on the GB10", "gb10", centosBase + "\n  nvidia_driver = \"570.86.10\"\n  driver_flavour = \"lts\"",
			[]string{"bp.hcl:23,19: Driver too old for this GPU", "bp.hcl:24,20: GPU needs the open kernel modules"}},
		{"no driver for a GPU", "dgx-station-gb300", centosBase, []string{"bp.hcl:21,1: Missing required argument"}},
		{"bad version", "dgx-station-gb300", centosBase + "\n  nvidia_driver = \"latest\"", []string{"bp.hcl:23,19: Invalid driver version"}},
		{"unknown base", "dgx-station-gb300", "  base = \"docker.io/library/ubuntu:24.04\"\n  nvidia_driver = \"580\"", []string{"bp.hcl:22,10: Unknown OS base"}},
		{"shell in a package", "h100-80gb-sxm", centosBase + "\n  nvidia_driver = \"580\"\n  packages = [\"ok\", \"$(reboot)\"]",
			[]string{"bp.hcl:24,21: Invalid package name"}},
		{"kernel argument with a space", "h100-80gb-sxm", centosBase + "\n  nvidia_driver = \"580\"\n  kernel_arguments = [\"a=b c\"]",
			[]string{"bp.hcl:24,23: Character not allowed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := strings.Replace(testAppliance, "dgx-station-gb300", c.hardware, 1)
			files := map[string]string{"bp.hcl": app + testModel + testEngine + osBlock(c.body)}
			if diff := cmp.Diff(c.want, loadErrors(t, files, "bp.hcl", lang.Inputs{})); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// Hopper drives with either flavour and any branch the catalog does not
// rule out; Fedora's 4 KB aarch64 kernel warns on a 64 KB machine only.
func TestOSBlockWarnings(t *testing.T) {
	for _, c := range []struct {
		hardware, body string
		warn           string
	}{
		{"h100-80gb-sxm", fcosBase + "\n  nvidia_driver = \"570\"\n  driver_flavour = \"proprietary\"", ""},
		{"dgx-station-gb300", fcosBase + "\n  nvidia_driver = \"580\"", "4 KB pages on a 64 KB machine"},
		{"gb10", fcosBase + "\n  nvidia_driver = \"580\"", ""},
	} {
		app := strings.Replace(testAppliance, "dgx-station-gb300", c.hardware, 1)
		p := testParser(t, map[string]string{"bp.hcl": app + testModel + testEngine + osBlock(c.body)})
		_, diags := p.Load("bp.hcl", lang.Inputs{})
		var warns []string
		for _, d := range diags {
			if d.Severity == hcl.DiagWarning {
				warns = append(warns, d.Summary)
				if !strings.Contains(d.Detail, "centos-bootc") || d.Subject == nil {
					t.Errorf("%s: the warning must name the 64 KB alternative at the base: %s", c.hardware, d.Detail)
				}
			}
		}
		if diags.HasErrors() || strings.Join(warns, "") != c.warn {
			t.Errorf("%s: diagnostics %v, want only the warning %q", c.hardware, diags, c.warn)
		}
	}
}

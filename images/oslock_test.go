package images

import (
	"strings"
	"testing"
)

const osLock = `os "registry.example.org/coop/os:580" {
  digest           = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
  platform         = "linux/arm64"
  base             = "quay.io/fedora/fedora-coreos@sha256:2222222222222222222222222222222222222222222222222222222222222222"
  driver           = "580.126.20 open"
  packages         = ["dkms", "nut", "nvidia-container-toolkit"]
  kernel_arguments = ["nvidia-drm.modeset=1"]
  context          = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
  builder          = "buildah 1.28.2"
}
`

// The os entry survives a round trip through the lock file's bytes, and
// tells what changed since the image was built.
func TestOSEntryRoundTripAndDifferences(t *testing.T) {
	l, _, diags := ParseLock([]byte(osLock), "bp.lock.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	again, _, diags := ParseLock(l.Bytes(), "bp.lock.hcl")
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags.Error(), l.Bytes())
	}
	e := again.OS
	if e == nil || e.Pinned() != "registry.example.org/coop/os@sha256:1111111111111111111111111111111111111111111111111111111111111111" || e.Builder != "buildah 1.28.2" {
		t.Fatalf("os entry after a round trip: %+v", e)
	}
	same := e.OSProvenance
	if d := e.Differences(same); len(d) != 0 {
		t.Errorf("the same provenance differs: %q", d)
	}
	changed := same
	changed.Driver = "590.48.01 open"
	changed.Packages = []string{"dkms", "nvidia-container-toolkit", "tmux"}
	got := strings.Join(e.Differences(changed), "; ")
	if want := "NVIDIA driver 580.126.20 open -> 590.48.01 open; packages +tmux -nut"; got != want {
		t.Errorf("differences %q, want %q", got, want)
	}
	changed = same
	changed.Context = "sha256:" + strings.Repeat("4", 64)
	if got := strings.Join(e.Differences(changed), "; "); !strings.Contains(got, "the Containerfile or a script it copies") {
		t.Errorf("a changed build context reads %q", got)
	}
}

// A bad or second os entry is an error at its place.
func TestOSEntryErrors(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"duplicate":  {osLock + strings.Replace(osLock, ":580", ":590", 1), "bp.lock.hcl:11,4-38: Duplicate OS image in the lock file"},
		"bad digest": {strings.Replace(osLock, `"sha256:1111111111111111111111111111111111111111111111111111111111111111"`, `"latest"`, 1), "bp.lock.hcl:2,22-30: Invalid digest"},
		"digest ref": {strings.Replace(osLock, `coop/os:580`, `coop/os@sha256:`+strings.Repeat("0", 64), 1), "Invalid OS image reference"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, diags := ParseLock([]byte(c.src), "bp.lock.hcl")
			if !diags.HasErrors() || !strings.Contains(diags.Error(), c.want) {
				t.Errorf("diagnostics %v, want %q", diags, c.want)
			}
		})
	}
}

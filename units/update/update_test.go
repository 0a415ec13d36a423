package update

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

// TestPresets: the units preset files enable get a boot-time unit that
// enables and starts them, since an image switch applies no presets.
func TestPresets(t *testing.T) {
	tree := &units.Tree{Files: []*units.File{
		{Path: "/etc/systemd/system-preset/40-ups.preset", Contents: []byte("# c\nenable nut.target\nenable nut-server.service\ndisable foo.service\nenable bar*\n")},
		{Path: "/etc/systemd/system-preset/50-wan.preset", Contents: []byte("enable ModemManager.service\nenable nut.target\n")},
		{Path: "/etc/other/x.preset", Contents: []byte("enable nope.service\n")},
	}}
	c := Contribution(tree, Options{}, hcl.Range{})
	var u *units.Unit
	for _, x := range c.Units {
		if x.Name == PresetService {
			u = x
		}
	}
	if u == nil || !u.Enabled {
		t.Fatalf("no enabled %s in %v", PresetService, c.Units)
	}
	want := []string{
		"-/usr/bin/systemctl preset nut.target nut-server.service ModemManager.service",
		"-/usr/bin/systemctl --no-block start nut.target nut-server.service ModemManager.service",
	}
	if got := u.Get("Service", "ExecStart"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ExecStart = %q, want %q", got, want)
	}
	if c := Contribution(&units.Tree{}, Options{}, hcl.Range{}); len(c.Units) != 2 {
		t.Errorf("without presets: %d units, want update and gate only", len(c.Units))
	}
}

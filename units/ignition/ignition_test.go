package ignition_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/ignition"
)

func at(line int) hcl.Range {
	return hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: line}, End: hcl.Pos{Line: line}}
}

func tree(units_ ...*units.Unit) *units.Tree {
	return &units.Tree{
		Files: []*units.File{{Path: "/etc/hostname", Mode: 0o644, Contents: []byte("coop\n"), Origin: at(3)}},
		Users: []*units.User{{Name: "ops", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA ops"}, Groups: []string{"wheel"}, Origin: at(5)}},
		Units: units_,
	}
}

// TestWarningFailsAtItsBlock: Ignition only warns about an enabled unit
// with no [Install] section — and the host then never starts it. Butane's
// warning must fail the build, at the blueprint line of the unit.
func TestWarningFailsAtItsBlock(t *testing.T) {
	u := &units.Unit{Name: "lonely.service", Enabled: true, Origin: at(9)}
	u.Set("Service", "ExecStart", "/usr/bin/true")
	_, diags := ignition.Render(tree(u))
	if len(diags) != 1 {
		t.Fatalf("want one diagnostic, got %v", diags)
	}
	d := diags[0]
	if d.Severity != hcl.DiagError || d.Summary != "Ignition config rejected" || d.Subject == nil || d.Subject.Start.Line != 9 || !strings.Contains(d.Detail, "warning") {
		t.Errorf("got %v %q at %v: %s", d.Severity, d.Summary, d.Subject, d.Detail)
	}
}

// TestRenderIsIgnition35AndSecretFreeButane checks the two outputs agree on
// what is there and that config.bu names files instead of inlining them.
func TestRenderIsIgnition35AndSecretFreeButane(t *testing.T) {
	u := &units.Unit{Name: "ok.service", Enabled: true, Origin: at(9)}
	u.Set("Service", "ExecStart", "/usr/bin/true")
	u.Set("Install", "WantedBy", "multi-user.target")
	tr := tree(u)
	tr.Files = append(tr.Files, &units.File{Path: "/etc/sovereign/secrets/k.env", Mode: 0o600, Secret: true, Contents: []byte("KEY=hunter2-secret\n"), Origin: at(7)})
	out, diags := ignition.Render(tr)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var ign struct {
		Ignition struct{ Version string }
		Storage  struct{ Files []struct{ Path string } }
		Systemd  struct{ Units []struct{ Name string } }
	}
	if err := json.Unmarshal(out.Ignition, &ign); err != nil {
		t.Fatal(err)
	}
	if ign.Ignition.Version != ignition.IgnitionSpec || len(ign.Storage.Files) != 2 || len(ign.Systemd.Units) != 1 {
		t.Errorf("ignition.json: %+v", ign)
	}
	bu := string(out.Butane)
	for _, want := range []string{"variant: fcos", "version: 1.6.0", "local: etc/sovereign/secrets/k.env", "contents_local: etc/systemd/system/ok.service", "mode: 0600"} {
		if !strings.Contains(bu, want) {
			t.Errorf("config.bu lacks %q:\n%s", want, bu)
		}
	}
	if strings.Contains(bu, "hunter2") {
		t.Error("config.bu shows a secret")
	}
}

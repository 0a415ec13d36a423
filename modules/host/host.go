// Package host compiles the appliance block: the machine's identity, its
// admins, where data lives, how it is (not) updated, and the GPU plumbing
// every engine container relies on.
package host

import (
	"path"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units"
)

// ZincatiConfig turns off Fedora CoreOS's automatic OS updates: an appliance
// changes only when its blueprint is rebuilt and the host rebooted into it,
// never under a running model at 3 a.m.
const ZincatiConfig = "/etc/zincati/config.d/90-sovereign-disable-auto-updates.toml"

// Compile returns the host's contribution to the appliance tree.
func Compile(app *spec.Appliance) *units.Tree {
	at := app.DeclRange
	t := &units.Tree{
		Files: []*units.File{
			{Path: "/etc/hostname", Mode: 0o644, Contents: []byte(app.Hostname + "\n"), Origin: at},
			{Path: ZincatiConfig, Mode: 0o644, Contents: []byte("# Updates are applied by rebuilding the blueprint and rebooting (sovereign build).\n[updates]\nenabled = false\n"), Origin: at},
		},
		Links: []*units.Link{
			// Relative, as systemd's timedatectl writes it, so it resolves
			// inside a sysroot too.
			{Path: "/etc/localtime", Target: path.Join("../usr/share/zoneinfo", app.Timezone), Origin: at},
		},
		Directories: []*units.Directory{
			{Path: app.Storage.StateDir, Mode: 0o755, Origin: app.Storage.DeclRange},
			{Path: app.Storage.ModelsDir, Mode: 0o755, Origin: app.Storage.DeclRange},
		},
	}
	for _, a := range app.Admins {
		t.Users = append(t.Users, &units.User{
			Name:              a.Name,
			SSHAuthorizedKeys: a.SSHAuthorizedKeys,
			Groups:            a.Groups,
			Origin:            a.DeclRange,
		})
	}
	if st := app.Storage; st.Device != "" {
		t.Filesystems = append(t.Filesystems, &units.Filesystem{
			Device: st.Device, Path: st.StateDir, Format: st.Filesystem, Label: st.Label, Origin: st.DeclRange,
		})
	}
	if app.Hardware.GPUs > 0 {
		t.Units = append(t.Units, cdiUnit(app))
	}
	return t
}

// cdiUnit generates the NVIDIA CDI spec before any GPU container starts. The
// toolkit's own refresh units exist only from 1.18 on; running the generator
// ourselves works with any toolkit the OS image ships and orders it
// explicitly before the engines.
func cdiUnit(app *spec.Appliance) *units.Unit {
	u := &units.Unit{Name: units.CDIService, Enabled: true, Origin: app.DeclRange}
	u.Set("Unit", "Description", "Generate the NVIDIA CDI spec for GPU containers")
	u.Set("Unit", "Documentation", "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/cdi-support.html")
	// The driver's modules must be loaded for nvidia-ctk to see the GPUs.
	u.Set("Unit", "After", "systemd-modules-load.service")
	u.Set("Service", "Type", "oneshot")
	u.Set("Service", "RemainAfterExit", "yes")
	u.Set("Service", "ExecStart", "/usr/bin/nvidia-ctk cdi generate --output="+units.CDISpec)
	u.Set("Install", "WantedBy", "multi-user.target")
	return u
}

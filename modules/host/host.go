// Package host compiles the appliance block: the machine's identity, its
// admins, where data lives, how it is (not) updated, and the GPU plumbing
// every engine container relies on.
package host

import (
	_ "embed"
	"path"
	"strconv"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units"
)

// ZincatiConfig turns off Fedora CoreOS's automatic OS updates: an appliance
// changes only when its blueprint is rebuilt and the host rebooted into it,
// never under a running model at 3 a.m.
const ZincatiConfig = "/etc/zincati/config.d/90-sovereign-disable-auto-updates.toml"

// VerifyScript checks the host against units.HostManifest; VerifyService
// runs it from VerifyTimer, daily and 15 minutes after boot.
const (
	VerifyScript  = "/usr/local/libexec/sovereign/verify"
	VerifyService = "sovereign-verify.service"
	VerifyTimer   = "sovereign-verify.timer"
)

//go:embed verify.sh
var verifyScript []byte

// CDIScript waits for the NVIDIA driver and writes the CDI spec, or says
// what the host OS lacks.
const CDIScript = "/usr/local/libexec/sovereign/nvidia-cdi"

//go:embed nvidia-cdi.sh
var cdiScript []byte

// driverWait is how long the CDI unit waits for the driver to come up once
// its module is there (a GB300's first load takes a while).
const driverWait = 5 * time.Minute

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
		t.Files = append(t.Files, &units.File{Path: CDIScript, Mode: 0o755, Contents: cdiScript, Origin: at})
	}
	t.Files = append(t.Files, &units.File{Path: VerifyScript, Mode: 0o755, Contents: verifyScript, Origin: at})
	t.Units = append(t.Units, verifyUnits(app)...)
	return t
}

// verifyUnits check the host against its build every day and log each
// difference: a file changed by hand, a unit that failed. The service fails
// when anything differs, so drift shows in `systemctl --failed`.
func verifyUnits(app *spec.Appliance) []*units.Unit {
	svc := &units.Unit{Name: VerifyService, Origin: app.DeclRange}
	svc.Set("Unit", "Description", "Check this host against its sovereign build")
	svc.Set("Unit", "Documentation", "man:sha256sum(1)")
	svc.Set("Service", "Type", "oneshot")
	svc.Set("Service", "ExecStart", VerifyScript)
	timer := &units.Unit{Name: VerifyTimer, Enabled: true, Origin: app.DeclRange}
	timer.Set("Unit", "Description", "Check this host against its sovereign build daily")
	timer.Set("Timer", "OnBootSec", "15min")
	timer.Set("Timer", "OnUnitActiveSec", "1d")
	timer.Set("Install", "WantedBy", "timers.target")
	return []*units.Unit{svc, timer}
}

// cdiUnit generates the NVIDIA CDI spec before any GPU container starts. The
// toolkit's own refresh units exist only from 1.18 on; running the generator
// ourselves works with any toolkit the OS image ships and orders it
// explicitly before the engines. It fails, once and with the reason, when
// the OS cannot drive the GPU: a oneshot is not restarted, and the engines
// that require it are not started.
func cdiUnit(app *spec.Appliance) *units.Unit {
	u := &units.Unit{Name: units.CDIService, Enabled: true, Origin: app.DeclRange}
	u.Set("Unit", "Description", "Generate the NVIDIA CDI spec for GPU containers")
	u.Set("Unit", "Documentation", "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/cdi-support.html")
	// The driver's modules must be loaded for nvidia-ctk to see the GPUs.
	u.Set("Unit", "After", "systemd-modules-load.service")
	u.Set("Service", "Type", "oneshot")
	u.Set("Service", "RemainAfterExit", "yes")
	u.Set("Service", "ExecStart", units.QuoteCommand([]string{CDIScript, units.CDISpec, strconv.Itoa(int(driverWait / time.Second))}))
	u.SetStartTimeout(driverWait + 5*time.Minute)
	u.Set("Install", "WantedBy", "multi-user.target")
	return u
}

// Package update is the appliance's image-mode update path: the
// sovereign-update oneshot that switches the host to another appliance image
// by digest and reboots, the health gate that rolls back a boot whose
// gateway and engines are not healthy in time, the optional timer that
// follows a tag, and the small first-boot tree that image-mode Ignition
// carries (what must exist before the host switches to the image).
//
// The scripts are plain sh so that they run on any Fedora CoreOS; they use
// bootc when the OS has it and rpm-ostree otherwise, and keep their state in
// /var/lib/sovereign/update, which no deployment change touches:
//
//	pending          the image an update switched to, until the gate passes
//	current          the image the gate last found healthy
//	failed/HEX       an image that failed the gate, with the reason; neither
//	                 the update nor the first-boot switch goes to it again
package update

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

//go:embed update.sh
var updateScript []byte

//go:embed health-gate.sh
var gateScript []byte

// Paths on the appliance. The scripts live in /usr: they are part of the
// image and change with it.
const (
	UpdateScript = "/usr/libexec/sovereign/update"
	GateScript   = "/usr/libexec/sovereign/health-gate"
	GateConf     = "/usr/lib/sovereign/health-gate.conf"
	FollowConf   = "/etc/sovereign/update.conf"
	StateDir     = "/var/lib/sovereign/update"

	UpdateService = "sovereign-update.service"
	UpdateTimer   = "sovereign-update.timer"
	GateService   = "sovereign-health-gate.service"
	// SwitchService is the first-boot unit of image-mode Ignition.
	SwitchService = "sovereign-switch.service"
)

// Options configure the update path of an image-mode build.
type Options struct {
	// Image is where the appliance image is pushed: REPOSITORY[:TAG].
	Image string
	// Timer, when set, is the OnCalendar= of a timer that switches to
	// whatever Image's tag points to (and so trusts whoever can push it).
	Timer string
}

// Contribution is the update path's part of the appliance tree. The health
// gate watches every container the tree runs (the gateway and the engines).
func Contribution(tree *units.Tree, opt Options, at hcl.Range) *units.Tree {
	t := &units.Tree{
		Files: []*units.File{
			{Path: UpdateScript, Mode: 0o755, Contents: updateScript, Origin: at},
			{Path: GateScript, Mode: 0o755, Contents: gateScript, Origin: at},
			{Path: GateConf, Mode: 0o644, Contents: gateConf(tree), Origin: at},
		},
		Directories: []*units.Directory{{Path: StateDir, Mode: 0o700, Origin: at}},
	}

	svc := &units.Unit{Name: UpdateService, Origin: at}
	svc.Set("Unit", "Description", "Switch the appliance to the image its tag now points to, and reboot")
	svc.Set("Unit", "Wants", "network-online.target")
	svc.Set("Unit", "After", "network-online.target")
	svc.Set("Unit", "ConditionPathExists", FollowConf)
	svc.Set("Service", "Type", "oneshot")
	svc.Set("Service", "ExecStart", UpdateScript+" --follow")
	t.Units = append(t.Units, svc)

	gate := &units.Unit{Name: GateService, Enabled: true, Origin: at}
	gate.Set("Unit", "Description", "Roll back an update whose gateway and engines are not healthy in time")
	gate.Set("Unit", "Wants", "network-online.target")
	gate.Set("Unit", "After", "network-online.target")
	gate.Set("Unit", "ConditionPathExists", path.Join(StateDir, "pending"))
	// exec, not oneshot: waiting for a 235B model to load must not hold up
	// multi-user.target.
	gate.Set("Service", "Type", "exec")
	gate.Set("Service", "ExecStart", GateScript)
	gate.Set("Install", "WantedBy", "multi-user.target")
	t.Units = append(t.Units, gate)

	if names := presetEnabled(tree); len(names) > 0 {
		t.Units = append(t.Units, presetUnit(names, at))
	}

	if opt.Timer != "" {
		t.Files = append(t.Files, &units.File{Path: FollowConf, Mode: 0o644, Origin: at,
			Contents: []byte("# The image sovereign-update.timer follows (written by sovereign build --update-timer).\nFOLLOW=" + units.ShellQuote(opt.Image) + "\n")})
		timer := &units.Unit{Name: UpdateTimer, Enabled: true, Origin: at}
		timer.Set("Unit", "Description", "Follow "+opt.Image)
		timer.Set("Timer", "OnCalendar", opt.Timer)
		timer.Set("Timer", "RandomizedDelaySec", "10min")
		timer.Set("Timer", "Persistent", "true")
		timer.Set("Install", "WantedBy", "timers.target")
		t.Units = append(t.Units, timer)
	}
	return t
}

// PresetService enables, on every boot of an image, the units that the
// tree's preset files enable. Presets are applied at a host's first boot
// only; a host that switches to an image has booted before, so the image's
// presets would never apply. For the tree's own units the image carries the
// enable symlinks; the units the presets name are the OS's (NUT,
// ModemManager), whose [Install] sections only the OS image knows, so
// systemctl reads them on the host.
const PresetService = "sovereign-presets.service"

// presetEnabled lists the units the tree's presets enable, in order.
func presetEnabled(tree *units.Tree) []string {
	var names []string
	for _, p := range tree.Presets {
		for _, name := range p.Enable {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

func presetUnit(names []string, at hcl.Range) *units.Unit {
	u := &units.Unit{Name: PresetService, Enabled: true, Origin: at}
	u.Set("Unit", "Description", "Enable what sovereign's presets enable (presets apply only at first boot, not on an image switch)")
	u.Set("Service", "Type", "oneshot")
	u.Set("Service", "RemainAfterExit", "yes")
	list := strings.Join(names, " ")
	// "-": a unit the OS image lacks must not stop the others.
	u.Set("Service", "ExecStart", "-/usr/bin/systemctl preset "+list)
	u.Set("Service", "ExecStart", "-/usr/bin/systemctl --no-block start "+list)
	u.Set("Install", "WantedBy", "multi-user.target")
	return u
}

// gateConf names what the health gate waits for: the service of every
// container, the container names to run health checks in, and a deadline
// past the slowest start the units allow.
func gateConf(tree *units.Tree) []byte {
	var services, containers, prepare []string
	var deadline, prepareDeadline time.Duration
	plain := map[string]*units.Unit{}
	for _, u := range tree.Units {
		if !u.IsQuadlet() {
			plain[u.Name] = u
		}
	}
	for _, u := range tree.Units {
		if path.Ext(u.Name) != ".container" {
			continue
		}
		// The tree's units a container requires (weights, CDI) come first.
		for _, name := range u.Requires {
			p := plain[name]
			if p == nil || slices.Contains(prepare, name) {
				continue
			}
			prepare = append(prepare, name)
			prepareDeadline = max(prepareDeadline, p.StartTimeout)
		}
		services = append(services, u.ServiceName())
		if len(u.Get("Container", "HealthCmd")) > 0 {
			containers = append(containers, u.ContainerName())
		}
		if u.StartTimeout != units.NoStartTimeout {
			deadline = max(deadline, u.StartTimeout)
		}
	}
	sort.Strings(services)
	sort.Strings(containers)
	sort.Strings(prepare)
	// Past the slowest allowed preparation (systemd fails the unit at its
	// timeout anyway); none (0) when one of them may take forever.
	switch {
	case prepareDeadline == units.NoStartTimeout:
		prepareDeadline = 0
	case len(prepare) > 0:
		prepareDeadline += 15 * time.Minute
	}
	// A quarter of an hour past the slowest allowed start, and never less
	// than an hour: pulling a 20 GB engine image comes first.
	deadline = max(deadline+15*time.Minute, time.Hour)
	// health-gate.sh sources this file: every value goes through ShellQuote.
	return fmt.Appendf(nil, "# Generated by sovereign: what sovereign-health-gate waits for after an update.\n"+
		"PREPARE=%s\nPREPARE_DEADLINE=%d\nUNITS=%s\nCONTAINERS=%s\nDEADLINE=%d\nINTERVAL=10\n",
		units.ShellQuote(strings.Join(prepare, " ")), int64(prepareDeadline/time.Second), units.ShellQuote(strings.Join(services, " ")),
		units.ShellQuote(strings.Join(containers, " ")), int64(deadline/time.Second))
}

// Bootstrap is what image-mode Ignition carries: what must exist before the
// host switches to the appliance image, and the unit that switches. The
// admins and their SSH keys, the data disk and the folders, the secrets
// (which the image never holds), the config that keeps Zincati from
// updating the host first, and sovereign-switch.service pinned to pinned
// (REPOSITORY@sha256:…). Everything else comes with the image. Files Ignition
// writes to /etc stay as local files across deployments, which is why
// nothing the image carries is written here, except the Zincati config,
// identical in both.
func Bootstrap(tree *units.Tree, pinned string, at hcl.Range) (*units.Tree, error) {
	hex, ok := strings.CutPrefix(pinned[strings.LastIndex(pinned, "@")+1:], "sha256:")
	if !ok || len(hex) != 64 || !strings.Contains(pinned, "@") {
		return nil, fmt.Errorf("bug: the appliance image %q is not pinned by digest", pinned)
	}
	t := &units.Tree{
		Users:       tree.Users,
		Filesystems: tree.Filesystems,
		Directories: tree.Directories,
	}
	for _, f := range tree.Files {
		if f.Secret || strings.HasPrefix(f.Path, "/etc/zincati/") {
			t.Files = append(t.Files, f)
		}
	}
	failed := path.Join(StateDir, "failed", hex)
	u := &units.Unit{Name: SwitchService, Enabled: true, Origin: at}
	u.Comment = []string{"Written by image-mode Ignition: switches this host to its appliance image once."}
	u.Set("Unit", "Description", "Switch to the appliance image "+pinned)
	u.Set("Unit", "Wants", "network-online.target")
	u.Set("Unit", "After", "network-online.target")
	u.Set("Unit", "Before", "zincati.service")
	// Inert once the host runs an appliance image, and after the image
	// failed its health gate (which rolled back to here).
	u.Set("Unit", "ConditionPathExists", "!"+UpdateScript)
	u.Set("Unit", "ConditionPathExists", "!"+failed)
	u.Set("Service", "Type", "oneshot")
	// The first appliance boot is checked by the health gate like any
	// update.
	u.Set("Service", "ExecStart", units.QuoteCommand([]string{"/usr/bin/mkdir", "-p", StateDir}))
	// The shell line quotes its values for sh, then the whole line is one
	// systemd word.
	record := "echo " + units.ShellQuote(pinned) + " >" + units.ShellQuote(path.Join(StateDir, "pending"))
	u.Set("Service", "ExecStart", units.QuoteCommand([]string{"/usr/bin/sh", "-c", record}))
	u.Set("Service", "ExecStart", units.QuoteCommand([]string{"/usr/bin/rpm-ostree", "rebase", "ostree-unverified-registry:" + pinned}))
	u.Set("Service", "ExecStart", "/usr/bin/systemctl reboot")
	// The first pull (the base OS and the layer) can take long and fail on
	// a flaky network; try again.
	u.SetStartTimeout(2 * time.Hour)
	u.Set("Service", "Restart", "on-failure")
	u.Set("Service", "RestartSec", "60")
	u.Set("Install", "WantedBy", "multi-user.target")
	t.Units = []*units.Unit{u}
	return t, nil
}

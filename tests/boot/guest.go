package boot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/tests/boot/report"
	"github.com/sovereign-collective/sovereign/units"
)

// Guest is everything one boot needs besides the cached base and runtime.
type Guest struct {
	// Ignition is the rendered ignition.json; Ignition is applied with the
	// real Ignition binary at IgnitionBin.
	Ignition, IgnitionBin string
	Blueprint             *spec.Blueprint
	Tree                  *units.Tree
	// Standin and Probe are the static binaries of ./standin and ./probe.
	Standin, Probe string
	// EngineReadyAfter is how long the stand-in engine loads at most: a Go
	// duration, or "never". With ReleaseEngine, the probe ends the load
	// as soon as it has seen the gateway answer for the loading engine.
	EngineReadyAfter string
	ReleaseEngine    bool
	// Probe settings beyond what the blueprint says.
	WatchNeverHealthySeconds, DeadlineSeconds int
}

// Paths in the guest that belong to the test kit, not the appliance.
const (
	kitDir       = "/usr/local/lib/sovereign-boot-test"
	probeService = "sovereign-boot-test-probe.service"
	dropInName   = "90-sovereign-boot-test.conf"
	// releaseDir is mounted into the engine's container at
	// releaseMount; the probe ends the stand-in engine's load by writing
	// releaseFile there.
	releaseDir   = kitDir + "/release"
	releaseMount = "/sovereign-boot-test-release"
	releaseFile  = "loaded"
)

// Assemble makes the guest's root at root from a copy of the base: the
// runtime installed as Fedora packages it, the appliance applied from
// ignition.json by Ignition's files stage, then the test kit (stand-ins and
// probe). It returns the probe's config.
func Assemble(ctx context.Context, log io.Writer, base Base, rt Runtime, g *Guest, root string) (*report.Config, error) {
	if err := run(ctx, log, "", nil, "cp", "-a", base.Root, root); err != nil {
		return nil, err
	}
	if err := installRuntime(rt, root); err != nil {
		return nil, err
	}
	if err := applyIgnition(ctx, log, g.IgnitionBin, g.Ignition, root); err != nil {
		return nil, err
	}
	cfg, err := probeConfig(g)
	if err != nil {
		return nil, err
	}
	if err := installKit(g, cfg, root); err != nil {
		return nil, err
	}
	return cfg, nil
}

// installRuntime puts Podman, its generator and runc where Fedora does, and
// makes runc Podman's runtime.
func installRuntime(rt Runtime, root string) error {
	for _, f := range []struct{ src, dst string }{
		{rt.Podman, "usr/bin/podman"},
		{rt.Quadlet, "usr/libexec/podman/quadlet"},
		{rt.Runc, "usr/bin/runc"},
	} {
		dst := filepath.Join(root, f.dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := copyFile(f.src, dst, 0o755); err != nil {
			return err
		}
	}
	gen := filepath.Join(root, "usr/lib/systemd/system-generators/podman-system-generator")
	if err := os.MkdirAll(filepath.Dir(gen), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("../../../libexec/podman/quadlet", gen); err != nil {
		return err
	}
	return writeFile(root, "etc/containers/containers.conf.d/50-sovereign-boot-test.conf", "[engine]\nruntime = \"runc\"\n", 0o644)
}

// applyIgnition runs the real Ignition's fetch-offline and files stages on
// the guest's root, as the appliance's first boot would: users and groups
// (the host's useradd --root), directories, files with their modes, links,
// units and the preset that enables them on first boot. Ignition's disk
// stages are not run: they format real disks.
func applyIgnition(ctx context.Context, log io.Writer, ignition, config, root string) error {
	state, err := os.MkdirTemp("", "sovereign-boot-ignition-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	env := []string{"IGNITION_CONFIG_FILE=" + config}
	for _, stage := range []string{"fetch-offline", "files"} {
		var out strings.Builder
		err := run(ctx, &out, "", env, ignition, "-platform", "file", "-stage", stage, "-root", root, "-log-to-stdout",
			"-config-cache", filepath.Join(state, "config.json"), "-state-file", filepath.Join(state, "state"),
			"-neednet", filepath.Join(state, "neednet"))
		if err != nil {
			return fmt.Errorf("ignition %s stage: %w\n%s", stage, err, ignitionProblems(out.String()))
		}
		if _, err := os.Stat(filepath.Join(state, "neednet")); err == nil {
			return fmt.Errorf("ignition %s stage wants the network: the appliance's config must apply offline", stage)
		}
	}
	fmt.Fprintf(log, "boot: ignition applied %s\n", config)
	return nil
}

// ignitionProblems keeps Ignition's warnings and errors out of its verbose log.
func ignitionProblems(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "WARNING") || strings.HasPrefix(line, "ERROR") || strings.HasPrefix(line, "CRITICAL") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// healthURL finds the URL in an engine's rendered HealthCmd.
var healthURL = regexp.MustCompile(`https?://[^"' ]+`)

// probeConfig says what the probe watches: every unit sovereign renders, the
// engine and its health endpoint, the gateway and a member's key.
func probeConfig(g *Guest) (*report.Config, error) {
	bp := g.Blueprint
	if len(bp.Engines) != 1 || bp.Gateway == nil {
		return nil, fmt.Errorf("the boot test expects one engine behind the gateway, the blueprint has %d engine(s), gateway: %v", len(bp.Engines), bp.Gateway != nil)
	}
	eng := bp.Engines[0]
	cfg := &report.Config{
		Engine:                   engines.Service(eng),
		Gateway:                  "gateway-nginx.service",
		APIPath:                  "/v1/models",
		ServedModel:              eng.ServedModelName,
		EngineBecomesHealthy:     g.EngineReadyAfter != "never",
		ReleaseEngine:            releaseFileIf(g.ReleaseEngine, releaseDir),
		WatchNeverHealthySeconds: g.WatchNeverHealthySeconds,
		DeadlineSeconds:          g.DeadlineSeconds,
	}
	cfg.Enabled = presetEnabled(g.Tree)
	cfg.Units = append([]string(nil), cfg.Enabled...)
	for _, u := range g.Tree.Units {
		cfg.Units = append(cfg.Units, u.ServiceName())
		if u.Enabled {
			cfg.Enabled = append(cfg.Enabled, u.Name)
		}
		if u.ServiceName() == cfg.Engine {
			for _, hc := range u.Get("Container", "HealthCmd") {
				cfg.EngineHealth = healthURL.FindString(hc)
			}
			cfg.EngineContainer = u.ContainerName()
		}
	}
	if cfg.EngineHealth == "" {
		return nil, fmt.Errorf("no health check URL in %s", cfg.Engine)
	}
	for _, m := range bp.Gateway.Members {
		if m.APIKey != nil {
			cfg.MemberKey = m.APIKey.Value
			break
		}
	}
	if cfg.MemberKey == "" {
		return nil, fmt.Errorf("no member of the gateway has an API key to call it with")
	}
	return cfg, nil
}

// releaseFileIf is the file that ends the stand-in engine's load, in dir
// (the guest's or the container's view of it), or "" when nothing does.
func releaseFileIf(release bool, dir string) string {
	if !release {
		return ""
	}
	return dir + "/" + releaseFile
}

// presetEnabled are the units sovereign's own presets enable: the host's
// services the appliance relies on (NUT for the UPS, ModemManager for a
// mobile uplink). Its own plain units marked Enabled are enabled by the
// preset Ignition writes for them.
func presetEnabled(t *units.Tree) []string {
	var names []string
	for _, p := range t.Presets {
		names = append(names, p.Enable...)
	}
	return names
}

// installKit adds what the test brings: the stand-in root filesystem,
// Quadlet drop-ins running each container from it in its role, the
// stand-in nvidia-ctk, pre-staged (fake) weights, and the probe.
func installKit(g *Guest, cfg *report.Config, root string) error {
	if err := buildStandinRootfs(g, filepath.Join(root, standinRootfs)); err != nil {
		return fmt.Errorf("stand-in root filesystem: %w", err)
	}
	for _, u := range g.Tree.Units {
		if !u.IsQuadlet() || u.Image == nil {
			continue
		}
		r := standinRole(u, cfg.Engine)
		path := filepath.Join("etc/containers/systemd", u.Name+".d", dropInName)
		if err := writeFile(root, path, strings.Join(r.dropIn(u, g), "\n")+"\n", 0o644); err != nil {
			return err
		}
	}
	if g.ReleaseEngine {
		if err := os.MkdirAll(filepath.Join(root, releaseDir), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile(g.Standin, filepath.Join(root, "usr/bin/nvidia-ctk"), 0o755); err != nil {
		return err
	}
	// The guest has no GPU and no NVIDIA driver, which the appliance's CDI
	// unit checks for (and rightly fails without): the stand-in nvidia-ctk
	// writes the spec without that check.
	cdiDropIn := "[Service]\nExecStart=\nExecStart=/usr/bin/nvidia-ctk cdi generate --output=" + units.CDISpec + "\n"
	if err := writeFile(root, "etc/systemd/system/"+units.CDIService+".d/"+dropInName, cdiDropIn, 0o644); err != nil {
		return err
	}
	// The guest's clock is real time while its CPU is emulated: on busy
	// cores NetworkManager took longer than the 60 s its wait-online unit
	// allows to settle the guest's one NIC, which it does in seconds on
	// the appliance's hardware. Only the limit changes.
	if err := writeFile(root, "etc/systemd/system/NetworkManager-wait-online.service.d/"+dropInName,
		"[Service]\nEnvironment=NM_ONLINE_TIMEOUT=600\n", 0o644); err != nil {
		return err
	}
	if err := upsStandin(g, root); err != nil {
		return err
	}
	for _, m := range g.Blueprint.Models {
		// The operator's step for weights the blueprint does not verify:
		// copy them in. These are not weights; the stand-in engine only
		// checks that the folder is not empty.
		dir := filepath.Join(g.Blueprint.Appliance.Storage.ModelsDir, m.Name)
		if err := writeFile(root, filepath.Join(dir, "config.json"), `{"architectures":["StandinForCausalLM"]}`+"\n", 0o644); err != nil {
			return err
		}
	}
	return installProbe(g, cfg, root)
}

// upsStandin stands in for the UPS itself: the guest has no USB UPS, so the
// blueprint's NUT driver program is replaced by NUT's simulation driver
// (dummy-ups) reading a mains-power status file. ups.conf, upsd, upsmon,
// upssched and the appliance's scripts are the real ones.
func upsStandin(g *Guest, root string) error {
	// The driver the rendered ups.conf names: the blueprint's, or the ups
	// module's default.
	power, diags := ups.Resolve(g.Blueprint.UPS)
	if diags.HasErrors() {
		return diags
	}
	if power == nil {
		return nil
	}
	const status = "sovereign-boot-test-ups.dev"
	if err := writeFile(root, "etc/ups/"+status, "device.type: ups\nups.status: OL\nbattery.charge: 100\nbattery.runtime: 540\ninput.voltage: 230\n", 0o644); err != nil {
		return err
	}
	// "-x after -a overrides ups.conf settings" (dummy-ups -h). The driver
	// keeps the name ups.conf gives it (exec -a): a NUT driver refuses a
	// section configured for another driver ("UPS [main] is for driver
	// usbhid-ups, but I'm dummy-ups!"), and upsd finds it by a socket named
	// after that driver.
	driver := "#!/bin/bash\n# sovereign boot test: no UPS in the guest; NUT's simulation driver stands in.\nexec -a \"$0\" /lib/nut/dummy-ups \"$@\" -x port=" + status + "\n"
	return writeFile(root, filepath.Join("lib/nut", power.Driver), driver, 0o755)
}

// installProbe puts the probe, its config and its unit in the guest. The
// unit starts early (only after basic.target) so that the probe sees the
// appliance come up, and writes its report to the second serial port. It
// is Type=exec, not a oneshot, so that boot can finish while it watches.
func installProbe(g *Guest, cfg *report.Config, root string) error {
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(root, report.ConfigPath, string(raw)+"\n", 0o600); err != nil {
		return err
	}
	if err := copyFile(g.Probe, filepath.Join(root, kitDir, "probe"), 0o755); err != nil {
		return err
	}
	unit := strings.Join([]string{
		"[Unit]", "Description=sovereign boot test: watch the appliance come up, report, power off", "",
		"[Service]", "Type=exec", "ExecStart=" + kitDir + "/probe /dev/ttyS1", "TimeoutStartSec=infinity",
		"StandardOutput=journal+console", "StandardError=journal+console", "",
		"[Install]", "WantedBy=multi-user.target",
	}, "\n") + "\n"
	if err := writeFile(root, "etc/systemd/system/"+probeService, unit, 0o644); err != nil {
		return err
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	return os.Symlink("../"+probeService, filepath.Join(wants, probeService))
}

// writeFile writes contents at path below root, making its folders.
func writeFile(root, path, contents string, mode os.FileMode) error {
	dst := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, []byte(contents), mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// MakeDisk makes an ext4 disk image from the guest's root, without mounting
// anything (mkfs.ext4 -d).
func MakeDisk(ctx context.Context, log io.Writer, root, disk string) error {
	return run(ctx, log, "", nil, "mkfs.ext4", "-q", "-F", "-L", "root", "-d", root, disk, "4G")
}

// lookPath is exec.LookPath with the error saying what needs it.
func lookPath(name, why string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (%s)", name, why)
	}
	return p, nil
}

// healthTiming is how often Podman runs the engine's health check while it
// starts (HealthStartupInterval=) and once it has (HealthInterval=).
type healthTiming struct{ startup, steady time.Duration }

// engineHealthTiming reads the engine unit's rendered health check timing.
func engineHealthTiming(tree *units.Tree, engine string) (healthTiming, error) {
	for _, u := range tree.Units {
		if u.ServiceName() != engine {
			continue
		}
		var h healthTiming
		for key, d := range map[string]*time.Duration{"HealthStartupInterval": &h.startup, "HealthInterval": &h.steady} {
			v := u.Get("Container", key)
			if len(v) == 0 {
				return h, fmt.Errorf("%s has no %s=", u.Name, key)
			}
			var err error
			if *d, err = time.ParseDuration(v[len(v)-1]); err != nil {
				return h, fmt.Errorf("%s: %s=%s: %w", u.Name, key, v[len(v)-1], err)
			}
		}
		return h, nil
	}
	return healthTiming{}, fmt.Errorf("no unit runs %s", engine)
}

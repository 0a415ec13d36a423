package boot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-collective/sovereign/tests/boot/report"
)

// VM is one QEMU run of a guest disk.
type VM struct {
	Base Base
	Disk string
	// Dir receives the serial logs: console.log (ttyS0) and report.log
	// (ttyS1, where the probe writes).
	Dir  string
	CPUs int
	// Timeout is a hard limit: QEMU is killed when it passes.
	Timeout time.Duration
}

// Boot runs the guest until it powers itself off (the probe does, once it
// has reported) or the timeout passes, and returns the probe's report.
//
// QEMU emulates the CPU (TCG): the /dev/kvm of the machines this runs on is
// a paravirtual one that Debian's stock kernel cannot use.
func (vm VM) Boot(ctx context.Context, log io.Writer) (*report.Report, error) {
	qemu, err := lookPath("qemu-system-x86_64", "apt-get install qemu-system-x86")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, vm.Timeout)
	defer cancel()
	console, results := filepath.Join(vm.Dir, "console.log"), filepath.Join(vm.Dir, "report.log")
	args := []string{
		"-accel", "tcg,thread=multi", "-cpu", "max", "-smp", strconv.Itoa(vm.CPUs), "-m", "3072",
		"-kernel", vm.Base.Kernel, "-initrd", vm.Base.Initrd,
		// systemd.firstboot=off: the guest boots for the first time
		// (presets applied) but nobody is there to answer the first-boot
		// wizard's questions on the console; Ignition provisioned it.
		// The journal goes to the console too, so that console.log tells
		// what a guest that never reports was doing.
		// mitigations=off: the guest is a throwaway machine running only
		// the test, and under emulation the CPU-bug mitigations (page
		// table isolation switching address spaces on every system call
		// above all) cost more than anything the appliance does; audit=0
		// for the same reason, and init_on_alloc=0 (Debian's kernel zeroes
		// every page it hands out, CONFIG_INIT_ON_ALLOC_DEFAULT_ON), whose
		// cost every process start pays. tsc=reliable and no_timer_check spare the
		// kernel's checks of clocks that are QEMU's anyway.
		"-append", "console=ttyS0 root=/dev/vda rw quiet systemd.show_status=1 systemd.firstboot=off panic=-1" +
			" systemd.journald.forward_to_console=1 systemd.journald.max_level_console=info" +
			" mitigations=off audit=0 init_on_alloc=0 tsc=reliable no_timer_check",
		"-drive", "file=" + vm.Disk + ",format=raw,if=virtio,cache=unsafe",
		// A NIC on QEMU's user network with no way out: the appliance
		// expects a network (NetworkManager-wait-online), not the internet.
		"-nic", "user,model=virtio-net-pci,restrict=on", "-display", "none", "-no-reboot",
		// No default devices (VGA, parallel port, floppy, CD-ROM): nothing
		// in the guest uses them, and probing them costs the emulated
		// boot seconds.
		"-nodefaults",
		"-serial", "file:" + console, "-serial", "file:" + results,
	}
	start := time.Now()
	err = run(ctx, log, "", nil, qemu, args...)
	fmt.Fprintf(log, "boot: %s ran for %s\n", vm.Disk, time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		return nil, fmt.Errorf("the guest did not power off within %s (console: %s)", vm.Timeout, console)
	}
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(results)
	if err != nil {
		return nil, err
	}
	return ParseReport(raw)
}

// CheckTCG says whether this QEMU can emulate the guest's CPU in software
// (TCG), the only way the boot test runs it: a QEMU built without TCG, or
// one that does not start at all, fails here with a clear message rather
// than as a guest that never reports.
func CheckTCG(ctx context.Context) error {
	qemu, err := lookPath("qemu-system-x86_64", "apt-get install qemu-system-x86")
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, qemu, "-accel", "help").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s -accel help: %w\n%s", qemu, err, out)
	}
	for _, line := range strings.Fields(string(out)) {
		if line == "tcg" {
			return nil
		}
	}
	return fmt.Errorf("%s cannot emulate a CPU in software (no tcg among its accelerators: %q): the boot test needs TCG, since it does not use KVM", qemu, strings.TrimSpace(string(out)))
}

// ParseReport finds the probe's report between its markers in a serial log.
func ParseReport(log []byte) (*report.Report, error) {
	// A serial port turns each \n into \r\n.
	log = bytes.ReplaceAll(log, []byte("\r\n"), []byte("\n"))
	_, rest, ok := bytes.Cut(log, []byte("BOOT-REPORT-BEGIN\n"))
	if !ok {
		return nil, errors.New("the probe wrote no report (did the guest reach it? see console.log)")
	}
	body, _, ok := bytes.Cut(rest, []byte("\nBOOT-REPORT-END"))
	if !ok {
		return nil, errors.New("the probe's report is cut short")
	}
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("the probe's report: %w", err)
	}
	return &rep, nil
}

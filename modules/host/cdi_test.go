package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/tests/peers"
)

// On a host whose OS cannot give the GPU to containers, the CDI script fails
// at once with what is missing (this machine has no NVIDIA driver, which is
// the stock OS's case), so that the engines requiring it stay stopped with
// the reason instead of restarting.
func TestCDIScriptNamesWhatIsMissing(t *testing.T) {
	sh := peers.Tool(t, "sh")
	dir := t.TempDir()
	script := filepath.Join(dir, "nvidia-cdi")
	if err := os.WriteFile(script, cdiScript, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/driver/nvidia/version"); err == nil || exec.Command("modinfo", "nvidia").Run() == nil {
		t.Skip("this machine has an NVIDIA driver: the failures below cannot happen here")
	}
	// A stand-in nvidia-ctk that would write a spec, to reach the driver check.
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "nvidia-ctk"), []byte("#!/bin/sh\necho spec >\"${3#--output=}\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sysPath := "/usr/sbin:/usr/bin:/sbin:/bin"
	for name, c := range map[string]struct{ path, want string }{
		"no toolkit": {sysPath, "no nvidia-ctk: this host's OS has no NVIDIA container toolkit"},
		"no driver":  {bin + ":" + sysPath, "no nvidia kernel module for the running kernel"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(sh, script, filepath.Join(dir, "nvidia.yaml"), "2")
			cmd.Env = []string{"PATH=" + c.path}
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "sovereign-nvidia-cdi: "+c.want) {
				t.Errorf("exit %v, output %q; want a failure saying %q", err, out, c.want)
			}
		})
	}
}

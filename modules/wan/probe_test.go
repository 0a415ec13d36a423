package wan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProbeScriptFindsModemDevice runs the rendered probe for one round with
// stand-ins for nmcli and ping on its PATH: a gsm uplink has no interface in
// the blueprint, so the script must ask NetworkManager for the connection's
// device (to move its metric) and that device's IP interface (to ping
// through). The tests/ netns test covers ethernet uplinks for real.
func TestProbeScriptFindsModemDevice(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho \""+name+" $*\" >>"+log+"\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The modem is connected as cdc-wdm0, its IP traffic goes over wwan0.
	write("nmcli", `case "$*" in
"-g GENERAL.DEVICES connection show sovereign-wan-5g") echo cdc-wdm0 ;;
"-g GENERAL.IP-IFACE device show cdc-wdm0") echo wwan0 ;;
"-g GENERAL.IP-IFACE device show enp1s0") echo enp1s0 ;;
"device modify "*) ;;
*) echo "unexpected nmcli $*" >&2; exit 2 ;;
esac
`)
	// Pings through the NBN fail; through the modem they answer.
	write("ping", `case "$*" in *"-I wwan0"*) exit 0 ;; *) exit 1 ;; esac
`)
	script := filepath.Join(dir, "wan-probe")
	contents, err := probeScript(testWAN(15 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, contents, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "SOVEREIGN_PROBE_ROUNDS=1", "RUNTIME_DIRECTORY="+filepath.Join(dir, "state"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wan-probe: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	for _, want := range []string{
		"ping -n -q -I wwan0 -c 1 -W 1 192.0.2.1",
		"nmcli device modify cdc-wdm0 ipv4.route-metric 200 ipv6.route-metric 200",
		"ping -n -q -I enp1s0 -c 1 -W 1 192.0.2.1",
	} {
		if !strings.Contains(string(calls), want+"\n") {
			t.Errorf("no call %q; calls:\n%s\noutput:\n%s", want, calls, out)
		}
	}
	// One failed round demotes nothing: that takes three.
	if strings.Contains(string(calls), "device modify enp1s0") {
		t.Errorf("the NBN was demoted after one failed round:\n%s", calls)
	}
	state, _ := os.ReadFile(filepath.Join(dir, "state", "sovereign-wan-nbn"))
	if string(state) != "unknown 1\n" {
		t.Errorf("NBN state after one failed round: %q, want \"unknown 1\"", state)
	}
}

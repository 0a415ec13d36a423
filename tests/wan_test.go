package tests

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/modules/wan"
)

// TestWANFailover builds the resilience blueprint's two uplinks in network
// namespaces of its own — a host with wan1 and wan2, an "ISP" behind each
// answering the probe target — with the addresses and route metrics of the
// rendered keyfiles, and runs the rendered probe script there for real.
// NetworkManager cannot run here, so a stand-in nmcli does what
// `nmcli device modify DEV ipv4.route-metric N` does to the kernel's routes.
// The primary ISP then drops the host's traffic (a blackhole route: the link
// stays up, as when the NBN fails upstream); the default route must move to
// the backup within the blueprint's failover_time, carry traffic, and come
// back once the primary recovers. The namespaces are deleted at the end.
func TestWANFailover(t *testing.T) {
	needRoot(t)
	ipCmd := needCommand(t, "ip")
	needCommand(t, "ping")
	sysctlCmd := needCommand(t, "sysctl")

	out, res := build(t, resilienceCase())
	w, diags := wan.Resolve(res.Blueprint.WAN)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if len(w.Uplinks) != 2 || w.Mechanism() != "probe" {
		t.Fatalf("the resilience blueprint should have two uplinks failing over by probe, has %d by %s", len(w.Uplinks), w.Mechanism())
	}
	type link struct {
		dev, addr, gw, peer string
		metric              int
	}
	var links []link
	for _, u := range w.Uplinks {
		kf := renderedFile(t, out, wan.Keyfile(u))
		addr := keyfileValue(t, kf, "address1") // 203.0.113.2/30,203.0.113.1
		a, gw, _ := strings.Cut(addr, ",")
		metric, _ := strconv.Atoi(keyfileValue(t, kf, "route-metric"))
		peer := strings.Split(gw, ".")
		links = append(links, link{dev: keyfileValue(t, kf, "interface-name"), addr: a, gw: gw, metric: metric, peer: "up" + peer[3]})
	}
	target := w.Check.Targets[0].String()

	suffix := strconv.Itoa(os.Getpid())
	host, isp1, isp2 := "sv-host-"+suffix, "sv-isp1-"+suffix, "sv-isp2-"+suffix
	ip := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ipCmd, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		for _, ns := range []string{host, isp1, isp2} {
			_ = exec.Command(ipCmd, "netns", "del", ns).Run()
		}
	})
	for _, ns := range []string{host, isp1, isp2} {
		if out, err := exec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
			missingPeer(t, fmt.Sprintf("cannot create network namespaces here: %v %s", err, out))
		}
		ip("-n", ns, "link", "set", "lo", "up")
	}
	for i, l := range links {
		isp := []string{isp1, isp2}[i]
		prefix := l.addr[strings.Index(l.addr, "/"):]
		ip("link", "add", l.dev, "netns", host, "type", "veth", "peer", "name", l.peer, "netns", isp)
		ip("-n", host, "addr", "add", l.addr, "dev", l.dev)
		ip("-n", isp, "addr", "add", l.gw+prefix, "dev", l.peer)
		ip("-n", host, "link", "set", l.dev, "up")
		ip("-n", isp, "link", "set", l.peer, "up")
		// Each ISP answers the probe target, like a public resolver would.
		ip("-n", isp, "addr", "add", target+"/32", "dev", "lo")
		ip("-n", isp, "route", "add", "default", "via", strings.Split(l.addr, "/")[0])
		// What NetworkManager sets up from the keyfile.
		ip("-n", host, "route", "add", "default", "via", l.gw, "dev", l.dev, "metric", strconv.Itoa(l.metric))
	}
	// A distribution with strict reverse-path filtering on each interface,
	// then the rendered sysctl settings as systemd-sysctl applies them.
	for _, l := range links {
		ip("netns", "exec", host, sysctlCmd, "-q", "-w", "net.ipv4.conf."+l.dev+".rp_filter=1")
	}
	sysctlConf := filepath.Join(t.TempDir(), "sysctl.conf")
	writeFile(t, sysctlConf, renderedFile(t, out, wan.SysctlConf), 0o644)
	ip("netns", "exec", host, sysctlCmd, "-q", "-p", sysctlConf)

	routeDev := func() string {
		out, err := exec.Command(ipCmd, "-n", host, "route", "get", target).Output()
		if err != nil {
			return ""
		}
		f := strings.Fields(string(out))
		for i := range f[:len(f)-1] {
			if f[i] == "dev" {
				return f[i+1]
			}
		}
		return ""
	}
	if got := routeDev(); got != links[0].dev {
		t.Fatalf("before any fault the target is reached through %q, want %s", got, links[0].dev)
	}

	// The rendered probe, with a stand-in nmcli first on its PATH.
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	writeFile(t, filepath.Join(bin, "nmcli"), fakeNmcli, 0o755)
	writeFile(t, filepath.Join(dir, "wan-probe"), renderedFile(t, out, wan.ProbeScript), 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	// Bounded: the script stops by itself after 120 rounds (2 minutes).
	cmd := exec.CommandContext(ctx, ipCmd, "netns", "exec", host, filepath.Join(dir, "wan-probe"))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "RUNTIME_DIRECTORY="+filepath.Join(dir, "state"),
		"SOVEREIGN_PROBE_ROUNDS=120", "NMCLI_LOG="+filepath.Join(dir, "nmcli.log"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		t.Logf("wan-probe:\n%s", log.String())
	})
	waitFor(t, "the probe to find both uplinks up", 15*time.Second, func() bool {
		return strings.Count(readOr(filepath.Join(dir, "nmcli.log")), "\n") >= 2
	})

	// The primary's ISP drops everything to the host; the link stays up.
	ip("-n", isp1, "route", "add", "blackhole", strings.Split(links[0].addr, "/")[0]+"/32")
	t0 := time.Now()
	tFail := waitFor(t, "the default route to move to "+links[1].dev, w.FailoverTime+2*time.Second, func() bool { return routeDev() == links[1].dev })
	t.Logf("failover: %s after the fault (failover_time %s, worst case %s)", since(t0, tFail), w.FailoverTime, w.ProbeFailover())
	rx := func() int {
		out := ip("-n", isp2, "-s", "link", "show", links[1].peer)
		m := regexp.MustCompile(`RX:[^\n]*\n\s*\d+\s+(\d+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no RX counter in:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	before := rx()
	if out, err := exec.Command(ipCmd, "netns", "exec", host, "ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", target).CombinedOutput(); err != nil {
		t.Fatalf("no traffic through the backup after failover: %v\n%s", err, out)
	}
	if after := rx(); after < before+3 {
		t.Errorf("the backup ISP received %d packets for 3 pings", after-before)
	}

	// The primary recovers: traffic goes back to it.
	ip("-n", isp1, "route", "del", "blackhole", strings.Split(links[0].addr, "/")[0]+"/32")
	t1 := time.Now()
	tBack := waitFor(t, "the default route to come back to "+links[0].dev, w.ProbeFailback()+5*time.Second, func() bool { return routeDev() == links[0].dev })
	t.Logf("failback: %s after recovery (worst case %s)", since(t1, tBack), w.ProbeFailback())
	routes := ip("-n", host, "route", "show", "default")
	for _, l := range links {
		if want := fmt.Sprintf("default via %s dev %s metric %d", l.gw, l.dev, l.metric); !strings.Contains(routes, want) {
			t.Errorf("after failback the routes are\n%s\nwant %q among them", routes, want)
		}
	}
}

// fakeNmcli does to the kernel's routes what NetworkManager does for
// `nmcli device modify DEV ipv4.route-metric N ipv6.route-metric N`: the
// device's default route gets metric N. It refuses anything else, so a
// probe that starts calling nmcli differently fails this test.
const fakeNmcli = `#!/bin/sh
set -eu
if [ "$#" -ne 7 ] || [ "$1 $2 $4 $6" != "device modify ipv4.route-metric ipv6.route-metric" ] || [ "$5" != "$7" ]; then
	echo "fake nmcli: unsupported: $*" >&2
	exit 2
fi
dev=$3 metric=$5
gw=$(ip route show default dev "$dev" | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }')
[ -n "$gw" ] || { echo "fake nmcli: no default route on $dev" >&2; exit 1; }
while ip route del default dev "$dev" 2>/dev/null; do :; done
ip route add default via "$gw" dev "$dev" metric "$metric"
echo "$(date +%s.%N) $dev $metric" >>"$NMCLI_LOG"
`

// keyfileValue returns the value of the one line key=value of a keyfile.
func keyfileValue(t *testing.T, keyfile, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(key)+`=(.*)$`).FindAllStringSubmatch(keyfile, -1)
	if len(m) == 0 {
		t.Fatalf("no %s= in keyfile:\n%s", key, keyfile)
	}
	return m[0][1]
}

func readOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestNetworkManagerReadsConfig gives every rendered keyfile to the real
// NetworkManager's keyfile reader (`nmcli --offline` reads a keyfile on
// stdin and writes it back normalized, without a daemon) and the rendered
// connectivity config to `NetworkManager --print-config`. Each must accept
// the file and keep every setting: NetworkManager drops what it does not
// understand, or a value of the wrong type, without failing.
func TestNetworkManagerReadsConfig(t *testing.T) {
	nmcli := needCommand(t, "nmcli")
	nm := needCommand(t, "NetworkManager")
	for _, c := range []blueprintCase{referenceCases[0], resilienceCase()} {
		t.Run(c.name, func(t *testing.T) {
			out, res := build(t, c)
			for _, u := range res.Blueprint.WAN.Uplinks {
				ours := renderedFile(t, out, wan.Keyfile(u))
				cmd := exec.Command(nmcli, "--offline", "connection", "modify", "connection.id", wan.Connection(u))
				cmd.Stdin = strings.NewReader(ours)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				t.Logf("peer check: nmcli --offline %s", wan.Keyfile(u))
				if err := cmd.Run(); err != nil || stderr.Len() > 0 {
					t.Fatalf("nmcli rejects %s: %v\n%s", wan.Keyfile(u), err, stderr.String())
				}
				theirs := iniValues(stdout.String())
				for key, value := range iniValues(ours) {
					if key == "connection.autoconnect" && value == "true" {
						continue // the default, which NetworkManager leaves out
					}
					if theirs[key] != value {
						t.Errorf("%s: NetworkManager reads %s as %q, want %q; it wrote:\n%s", wan.Keyfile(u), key, theirs[key], value, stdout.String())
					}
				}
			}

			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "NetworkManager.conf"), "", 0o644)
			confd := filepath.Join(out, "rootfs", filepath.Dir(wan.ConnectivityConf))
			t.Logf("peer check: NetworkManager --print-config %s", wan.ConnectivityConf)
			printed, err := exec.Command(nm, "--print-config", "--config="+filepath.Join(dir, "NetworkManager.conf"),
				"--config-dir="+confd, "--system-config-dir="+filepath.Join(dir, "none")).CombinedOutput()
			if err != nil {
				t.Fatalf("NetworkManager --print-config: %v\n%s", err, printed)
			}
			for _, line := range strings.Split(string(printed), "\n") {
				// Debian 12's NetworkManager 1.42 predates [connectivity]
				// timeout=; the one Fedora CoreOS ships reads it.
				if strings.HasPrefix(line, "# WARNING") && !strings.Contains(line, "unknown key 'timeout' in section [connectivity]") {
					t.Errorf("NetworkManager warns about %s: %s", wan.ConnectivityConf, line)
				}
			}
			merged := iniValues(string(printed))
			for key, value := range iniValues(renderedFile(t, out, wan.ConnectivityConf)) {
				if merged[key] != value {
					t.Errorf("NetworkManager's merged config has %s = %q, want %q:\n%s", key, merged[key], value, printed)
				}
			}
		})
	}
}

// iniValues reads a keyfile-style file into "section.key" → value, skipping
// comments.
func iniValues(text string) map[string]string {
	values := map[string]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				values[section+"."+k] = v
			}
		}
	}
	return values
}

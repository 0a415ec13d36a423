package tests

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/link"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// fleetFirewall is the routing test's view of host b's link firewall: b's
// namespace, a namespace outside the link that routes to b's engine, and a
// link address that is not the gateway host's.
type fleetFirewall struct {
	nft, ipCmd  string
	ns, outside string
	engine      string // b's engine, address:port
	stranger    net.IP // on the link, not the gateway host
	drainScript []byte
	linkEngines map[string]*linkEngine
}

// dial connects to addr from namespace ns (this one when ""), from local
// address src when given, and reports whether the engine accepted.
func dial(ns string, src net.IP, addr string) error {
	try := func() error {
		d := net.Dialer{Timeout: time.Second}
		if src != nil {
			d.LocalAddr = &net.TCPAddr{IP: src}
		}
		c, err := d.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if ns == "" {
		return try()
	}
	return inNetns(ns, try)
}

// loadLinkFirewalls loads each remote host's rendered firewall table into
// its namespace with the real nft, after checking that without it host b's
// engine is reachable from outside the link and from a stranger on it (so
// the later checks that it is not prove the table's doing).
func loadLinkFirewalls(t *testing.T, f *spec.Fleet, res *pipeline.FleetResult, spaces map[string]string, up *spec.Upstream, engines map[string]*linkEngine) *fleetFirewall {
	t.Helper()
	fw := &fleetFirewall{nft: peers.Tool(t, "nft"), ipCmd: needCommand(t, "ip"), ns: spaces["b"], stranger: net.ParseIP("10.77.0.9"), linkEngines: engines}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(fw.ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, s := range up.Servers {
		if s.Host == "b" {
			fw.engine = s.Address.String()
		}
	}
	// Outside: a namespace joined to b's by another veth, as a WAN or LAN.
	pid := strconv.Itoa(os.Getpid() % 100000)
	fw.outside = "sv-fleet-out-" + pid
	ip("netns", "add", fw.outside)
	t.Cleanup(func() { _ = exec.Command(fw.ipCmd, "netns", "del", fw.outside).Run() })
	ip("-n", fw.outside, "link", "add", "wan0", "type", "veth", "peer", "name", "wan0", "netns", fw.ns)
	ip("-n", fw.outside, "addr", "add", "192.0.2.1/24", "dev", "wan0")
	ip("-n", fw.outside, "link", "set", "wan0", "up")
	ip("-n", fw.outside, "route", "add", fw.engine[:strings.IndexByte(fw.engine, ':')]+"/32", "via", "192.0.2.2")
	ip("-n", fw.ns, "addr", "add", "192.0.2.2/24", "dev", "wan0")
	ip("-n", fw.ns, "link", "set", "wan0", "up")
	// A stranger on the link: another address on the gateway host's end.
	ip("addr", "add", fw.stranger.String()+"/32", "dev", "svfb"+pid)
	ip("-n", fw.ns, "route", "add", fw.stranger.String()+"/32", "dev", f.Link.Interface)
	if err := dial(fw.outside, nil, fw.engine); err != nil {
		t.Fatalf("without the firewall the outside should reach b's engine (the test's control): %v", err)
	}
	if err := dial("", fw.stranger, fw.engine); err != nil {
		t.Fatalf("without the firewall a stranger on the link should reach b's engine (the test's control): %v", err)
	}
	for i, h := range f.Hosts {
		if h == f.GatewayHost {
			continue
		}
		table := hostFile(t, res.Hosts[i], link.FirewallFile)
		path := filepath.Join(t.TempDir(), "firewall.nft")
		if err := os.WriteFile(path, table, 0o644); err != nil {
			t.Fatal(err)
		}
		// Twice: the table replaces itself, as when the unit restarts.
		for range 2 {
			if out, err := exec.Command(fw.ipCmd, "netns", "exec", spaces[h.Name], fw.nft, "-f", path).CombinedOutput(); err != nil {
				t.Fatalf("peer check: nft -f %s of host %s: %v\n%s", link.FirewallFile, h.Name, err, out)
			}
		}
		t.Logf("peer check: nft -f %s loaded in host %s's namespace", link.FirewallFile, h.Name)
		if h.Name == "b" {
			fw.drainScript = hostFile(t, res.Hosts[i], link.DrainScript)
		}
	}
	return fw
}

// hostFile is the rendered file at path in a host's output.
func hostFile(t *testing.T, res *pipeline.Result, path string) []byte {
	t.Helper()
	for _, f := range res.Rootfs {
		if f.Path == path {
			return f.Contents
		}
	}
	t.Fatalf("the host's output has no %s", path)
	return nil
}

// checkClosed: with the table loaded, neither the outside nor a stranger
// on the link reaches b's engine; the gateway host does (the routing
// subtests ran through it).
func (fw *fleetFirewall) checkClosed(t *testing.T) {
	if err := dial(fw.outside, nil, fw.engine); err == nil {
		t.Error("a connection from outside the link reached b's engine")
	}
	if err := dial("", fw.stranger, fw.engine); err == nil {
		t.Error("a connection from a link address other than the gateway host's reached b's engine")
	}
	if err := dial("", nil, fw.engine); err != nil {
		t.Errorf("the gateway host cannot reach b's engine: %v", err)
	}
}

// draining lists the ports in b's draining set.
func (fw *fleetFirewall) draining(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(fw.ipCmd, "netns", "exec", fw.ns, fw.nft, "list", "set", "inet", link.Table, "draining").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set: %v\n%s", err, out)
	}
	if i := strings.Index(string(out), "elements = {"); i >= 0 {
		return strings.TrimSpace(string(out)[i+len("elements = {") : strings.IndexByte(string(out)[i:], '}')+i])
	}
	return ""
}

// drain raises b's drain flag and runs b's rendered drain script in b's
// namespace, as its path unit would: a stream already running on b
// finishes; every member, b's too, is answered by c at once; when the flag
// goes, b's engine takes connections again.
func (fw *fleetFirewall) drain(t *testing.T, api *http.Client, gw string, keys, home map[string]string, ask func(*testing.T, string) string) {
	var onB string
	for _, m := range fleetMembers {
		if home[m] == "b" {
			onB = m
			break
		}
	}
	if onB == "" {
		t.Fatal("no member lives on b")
	}
	type streamed struct {
		status int
		body   string
		err    error
	}
	done := make(chan streamed, 1)
	go func() {
		req, _ := http.NewRequest("POST", gw+"/v1/chat/completions", strings.NewReader(gwChatBody))
		req.Header.Set("Authorization", "Bearer "+keys[onB])
		req.Header.Set("X-Test-Stream", "1")
		resp, err := api.Do(req)
		if err != nil {
			done <- streamed{err: err}
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		done <- streamed{status: resp.StatusCode, body: b.String(), err: sc.Err()}
	}()
	select {
	case <-fw.linkEngines["b"].streaming:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not begin on b")
	}

	dir := t.TempDir()
	flag, script := filepath.Join(dir, "drain"), filepath.Join(dir, "link-drain")
	if err := os.WriteFile(script, fw.drainScript, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fw.ipCmd, "netns", "exec", fw.ns, "sh", script)
	cmd.Env = append(os.Environ(), "SOVEREIGN_DRAIN_FLAG="+flag, "SOVEREIGN_POLL=0.2", "PATH="+filepath.Dir(fw.nft)+":"+os.Getenv("PATH"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(5 * time.Second)
	for fw.draining(t) == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the drain script did not fill the draining set:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("b draining ports: %s", fw.draining(t))

	for _, m := range fleetMembers {
		start := time.Now()
		h := ask(t, m)
		took := time.Since(start)
		if h != "c" {
			t.Errorf("member %s reached host %s while b drains", m, h)
		}
		if took > time.Second {
			t.Errorf("member %s (of host %s) waited %v: a draining host refuses at once", m, home[m], took)
		}
	}
	s := <-done
	if s.err != nil || s.status != 200 || !strings.Contains(s.body, "chunk 9 from b") {
		t.Errorf("the stream running on b when it began to drain: %d %v %q, want all ten chunks from b", s.status, s.err, s.body)
	}

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("the drain script: %v\n%s", err, log.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the drain script did not end when the flag went:\n%s", log.String())
	}
	if p := fw.draining(t); p != "" {
		t.Errorf("after the drain the draining set still holds %s", p)
	}
	c := gwDo(t, &http.Client{Timeout: 5 * time.Second}, "POST", "http://"+fw.engine+"/v1/chat/completions",
		map[string]string{"Authorization": "Bearer " + fw.linkEngines["b"].key}, gwChatBody)
	if c.status != 200 {
		t.Errorf("after the drain b's engine answered the gateway host %d, want 200", c.status)
	}
	t.Logf("drain script:\n%s", log.String())
}

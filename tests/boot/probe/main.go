// Command probe runs inside the boot test's guest as a oneshot service
// started early in boot. It watches the appliance come up: when the gateway
// first answers, when the engine's own health endpoint first answers and when
// systemd first calls the engine's unit active; what the gateway answers
// while the engine loads and once boot has settled; every appliance unit's
// state and `systemctl --failed`. It writes a report.Report as JSON to the
// file named by its only argument (the guest's second serial port) and powers
// the guest off. It judges nothing: the test on the host does.
package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sovereign-collective/sovereign/tests/boot/report"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probe REPORT-FILE")
		os.Exit(2)
	}
	rep := run()
	out, err := json.Marshal(rep)
	if err == nil {
		err = writeReport(os.Args[1], out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
	} else {
		fmt.Fprintf(os.Stderr, "probe: report written (%d bytes), powering off\n", len(out))
	}
	powerOff()
}

// powerOff turns the guest off at once: the report is out, there is no need
// to stop the appliance's units one by one. It asks the kernel directly
// (reboot(2)) after flushing the disks, not systemctl, which once left the
// guest running until the host's timeout. Should the kernel refuse, the host
// still kills QEMU at its timeout.
func powerOff() {
	syscall.Sync()
	err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	fmt.Fprintln(os.Stderr, "probe: reboot(2) power off:", err)
}

// writeReport writes the report between markers (so the host finds it in a
// serial log) and waits until the serial port has sent it all.
func writeReport(path string, out []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	data := append(append([]byte("\nBOOT-REPORT-BEGIN\n"), out...), "\nBOOT-REPORT-END\n"...)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// TCSBRK with a non-zero argument is tcdrain: wait until the UART sent it.
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), 0x5409, 1); errno != 0 {
		f.Close()
		return errno
	}
	return f.Close()
}

// progress says on the console what the probe is waiting for.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "probe %.0fs: "+format+"\n", append([]any{uptime()}, args...)...)
}

// poll is how often the probe looks: well below the readiness lag it
// measures, and each look (a systemctl call among them) costs the emulated
// CPU the appliance is starting on.
const poll = time.Second

func run() *report.Report {
	rep := &report.Report{Podman: output("podman", "--version"), Kernel: output("uname", "-r"),
		FirstBoot: output("systemctl", "is-active", "first-boot-complete.target") == "active"}
	raw, err := os.ReadFile(report.ConfigPath)
	var cfg report.Config
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		rep.Errors = append(rep.Errors, "reading the probe's config: "+err.Error())
		return rep
	}
	client := newClient()
	deadline := float64(cfg.DeadlineSeconds)
	var lastProgress float64
	for {
		now := uptime()
		if now > deadline {
			rep.Errors = append(rep.Errors, fmt.Sprintf("deadline of %ds after boot passed: gateway up at %.1fs, engine healthy at %.1fs, engine active at %.1fs",
				cfg.DeadlineSeconds, rep.GatewayUp, rep.EngineHealthy, rep.EngineActive))
			break
		}
		if rep.GatewayUp == 0 && get(client, "http://127.0.0.1/health").Status == http.StatusOK {
			rep.GatewayUp = now
		}
		if rep.EngineHealthy == 0 && get(client, cfg.EngineHealth).Status == http.StatusOK {
			rep.EngineHealthy = now
		}
		// The engine's unit is Notify=healthy: it cannot be active before
		// the engine answers, so systemd is not asked until then (each
		// systemctl call costs the emulated CPU the appliance starts on).
		if rep.EngineHealthy > 0 && rep.EngineActive == 0 && output("systemctl", "is-active", cfg.Engine) == "active" {
			rep.EngineActive = now
		}
		if rep.GatewayUp > 0 && rep.Loading == nil && rep.EngineHealthy == 0 {
			rep.Loading = snapshot(client, &cfg, false)
			if cfg.ReleaseEngine != "" {
				if err := os.WriteFile(cfg.ReleaseEngine, nil, 0o644); err != nil {
					rep.Errors = append(rep.Errors, "releasing the engine: "+err.Error())
				}
				rep.Released = uptime()
			}
		}
		if now-lastProgress >= 15 {
			lastProgress = now
			progress("gateway up at %.0fs, engine healthy at %.0fs, engine active at %.0fs", rep.GatewayUp, rep.EngineHealthy, rep.EngineActive)
		}
		if done(rep, &cfg, now) {
			rep.Final = snapshot(client, &cfg, true)
			break
		}
		time.Sleep(poll)
	}
	if rep.Final == nil {
		rep.Final = snapshot(client, &cfg, true)
	}
	if rep.EngineActive > 0 && cfg.EngineContainer != "" {
		start := time.Now()
		output("podman", "healthcheck", "run", cfg.EngineContainer)
		rep.HealthCheckSeconds = time.Since(start).Seconds()
	}
	rep.Jobs = output("systemctl", "list-jobs", "--no-pager")
	if cfg.EngineBecomesHealthy {
		rep.SystemState = settle(10 * time.Second)
	}
	rep.Blame = firstLines(output("systemd-analyze", "blame", "--no-pager"), 20)
	rep.GatewayChain = output("systemd-analyze", "critical-chain", "--no-pager", cfg.Gateway)
	rep.Journal = output("journalctl", "-b", "--no-pager", "-o", "short-monotonic", "-p", "warning", "-n", "150")
	return rep
}

// done says whether boot has gone as far as the scenario lets it: the engine
// active and no appliance unit still starting, or (engine never healthy) the
// gateway watched long enough with the engine still loading.
func done(rep *report.Report, cfg *report.Config, now float64) bool {
	if rep.GatewayUp == 0 {
		return false
	}
	if !cfg.EngineBecomesHealthy {
		return now-rep.GatewayUp >= float64(cfg.WatchNeverHealthySeconds)
	}
	if rep.EngineActive == 0 {
		return false
	}
	for _, u := range units(cfg.Units, false) {
		if u.ActiveState == "activating" || u.ActiveState == "deactivating" || u.ActiveState == "reloading" {
			return false
		}
	}
	return true
}

// snapshot records what the gateway answers, then what systemd says. The
// requests come first: they are what the moment is about (a loading engine
// can finish while the probe asks systemd about two dozen units on a slow
// emulated CPU). detail adds each unit's is-enabled.
func snapshot(client *http.Client, cfg *report.Config, detail bool) *report.Snapshot {
	s := &report.Snapshot{Uptime: uptime(), Requests: requests(client, cfg)}
	s.Units = units(cfg.Units, detail)
	for _, line := range strings.Split(output("systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager", "--all"), "\n") {
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "●")); len(f) > 0 {
			s.Failed = append(s.Failed, f[0])
		}
	}
	return s
}

// requests makes the gateway requests the test judges, by report name.
func requests(client *http.Client, cfg *report.Config) []report.Response {
	var rs []report.Response
	api := "https://127.0.0.1" + cfg.APIPath
	member := map[string]string{"Authorization": "Bearer " + cfg.MemberKey}
	chat := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}]}`, cfg.ServedModel)
	for _, r := range []struct {
		name, method, url, body string
		header                  map[string]string
	}{
		{report.HealthHTTP, http.MethodGet, "http://127.0.0.1/health", "", nil},
		{report.HealthHTTPS, http.MethodGet, "https://127.0.0.1/health", "", nil},
		{report.NoKey, http.MethodGet, api, "", nil},
		{report.WrongKey, http.MethodGet, api, "", map[string]string{"Authorization": "Bearer sk-not-a-member"}},
		{report.MemberKey, http.MethodGet, api, "", member},
		{report.MemberChat, http.MethodPost, "https://127.0.0.1/v1/chat/completions", chat, member},
		{report.SignInRedirect, http.MethodGet, "https://127.0.0.1/", "", nil},
	} {
		resp := do(client, r.method, r.url, r.body, r.header)
		resp.Name = r.name
		rs = append(rs, resp)
	}
	return rs
}

// unitProps are the properties the probe reads of each unit.
const unitProps = "Id,LoadState,ActiveState,SubState,Result,Type,ExecMainStatus,TriggeredBy,InactiveExitTimestampMonotonic"

// units asks systemd for every unit's state in one systemctl call (each
// call costs the emulated CPU a second or so); with detail, also whether
// each is enabled.
func units(names []string, detail bool) []report.Unit {
	show := output("systemctl", append([]string{"show", "--no-pager", "-p", unitProps}, names...)...)
	// systemctl show prints one block of properties per unit, in the
	// order asked, separated by blank lines.
	byName := map[string]map[string]string{}
	for _, block := range strings.Split(show, "\n\n") {
		props := map[string]string{}
		for _, line := range strings.Split(block, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				props[k] = v
			}
		}
		byName[props["Id"]] = props
	}
	var enabled []string
	if detail {
		// One line per unit, in order, whatever each one's state.
		enabled = strings.Split(output("systemctl", append([]string{"is-enabled"}, names...)...), "\n")
	}
	var us []report.Unit
	for i, n := range names {
		props := byName[n]
		if props == nil {
			// A unit systemd knows by another name (an alias) answers
			// under that name; ask for it on its own.
			props = map[string]string{}
			for _, line := range strings.Split(output("systemctl", "show", "--no-pager", "-p", unitProps, n), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					props[k] = v
				}
			}
		}
		u := report.Unit{Name: n, LoadState: props["LoadState"], ActiveState: props["ActiveState"], SubState: props["SubState"],
			Result: props["Result"], Type: props["Type"], ExecMainStatus: props["ExecMainStatus"], TriggeredBy: props["TriggeredBy"],
			Started: props["InactiveExitTimestampMonotonic"] != "" && props["InactiveExitTimestampMonotonic"] != "0"}
		if len(enabled) == len(names) {
			u.Enabled = strings.TrimSpace(enabled[i])
		} else if detail {
			u.Enabled = output("systemctl", "is-enabled", n)
		}
		us = append(us, u)
	}
	return us
}

func newClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		// The gateway's certificate is the appliance's own, for its domain.
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(c *http.Client, url string) report.Response { return do(c, http.MethodGet, url, "", nil) }

func do(c *http.Client, method, url, body string, header map[string]string) report.Response {
	r := report.Response{URL: url}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	r.Status, r.Body = resp.StatusCode, string(b)
	r.ContentType, r.RetryAfter = resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After")
	r.Location = resp.Header.Get("Location")
	return r
}

// output runs a command and returns its trimmed standard output (and its
// standard error when it printed nothing else), whatever its exit status:
// systemctl is-active exits 3 for "activating".
func output(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	if stdout.Len() == 0 {
		return strings.TrimSpace(stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// settle waits up to limit for systemd to finish booting and returns what
// systemctl is-system-running says then ("running" once every start job is
// done; "starting" while one still runs).
func settle(limit time.Duration) string {
	end := time.Now().Add(limit)
	for {
		state := output("systemctl", "is-system-running")
		if state != "starting" && state != "initializing" || time.Now().After(end) {
			return state
		}
		time.Sleep(poll)
	}
}

// firstLines keeps the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func uptime() float64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

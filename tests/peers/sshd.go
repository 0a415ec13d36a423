package peers

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SSHD is a real OpenSSH server on loopback that lets one throwaway key in as
// the current user, standing in for an appliance's sshd.
type SSHD struct {
	// SSH is the client command with the options that reach it: the
	// throwaway key, the port, and a known_hosts holding exactly the
	// server's key (host-key checking stays strict).
	SSH []string
	// Target is USER@127.0.0.1.
	Target string
	// Port is where it listens; Dir holds its keys and configuration.
	Port int
	Dir  string
}

// StartSSHD runs Debian's sshd on a free loopback port until the test ends.
// Remote commands run with PATH starting with binDir (stand-ins for the
// host's systemctl and podman) and with env set. sshd refuses to run
// unless it is root; without it or without sshd the test skips (fails
// under CI=true).
func StartSSHD(t testing.TB, binDir string, env map[string]string) *SSHD {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		missing(t, errors.New("sshd not found (Debian package openssh-server)"))
	}
	keygen := Tool(t, "ssh-keygen")
	Tool(t, "ssh")
	if os.Geteuid() != 0 {
		missing(t, errors.New("the sshd peer runs as root"))
	}
	dir, err := os.MkdirTemp("", "sovereign-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, k := range []string{"host_key", "client_key"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sovereign-test", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	port := freePort(t)
	hostPub, err := os.ReadFile(filepath.Join(dir, "host_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(hostPub))
	knownHosts := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, fields[0], fields[1])
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("known_hosts", knownHosts)
	clientPub, err := os.ReadFile(filepath.Join(dir, "client_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	write("authorized_keys", string(clientPub))
	setEnv := []string{"PATH=" + binDir + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	for k, v := range env {
		setEnv = append(setEnv, k+"="+v)
	}
	write("sshd_config", fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
SetEnv %s
`, port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"), strings.Join(setEnv, " ")))
	// sshd needs its privilege-separation folder.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	cmd := exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd log:\n%s", logBuf.String())
		}
	})
	t.Logf("peer check: sshd on 127.0.0.1:%d", port)
	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	s := &SSHD{
		SSH: []string{"ssh", "-i", filepath.Join(dir, "client_key"), "-p", strconv.Itoa(port),
			"-o", "UserKnownHostsFile=" + filepath.Join(dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
			"-o", "IdentitiesOnly=yes", "-F", "/dev/null"},
		Target: user + "@127.0.0.1",
		Port:   port,
		Dir:    dir,
	}
	waitListening(t, port)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitListening(t testing.TB, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sshd did not listen on %d within 10s", port)
}

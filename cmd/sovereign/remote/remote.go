// Package remote reads what a running appliance has — its files, units,
// containers and OS image — over SSH, with the system's ssh client and so
// with the user's own keys, agent, ssh_config and known_hosts. sovereign
// holds no credentials of its own and never turns host-key checking off.
package remote

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/sovereign-collective/sovereign/units"
)

//go:embed probe.sh
var probeScript string

// Host is an appliance reached over SSH.
type Host struct {
	// Target is what ssh is given: ADMIN@HOST, or a Host alias of the
	// user's ssh_config.
	Target string
	// SSH is the ssh command with its options, e.g. ["ssh", "-p", "2222"].
	SSH []string
	// Root is the host's "/" as the remote shell sees it: "/" on a real
	// host, a scratch folder standing in for it in tests.
	Root string
}

// Query names what to read.
type Query struct {
	// Dirs are the folders whose every file and link is listed: the ones
	// sovereign owns, so that a file the build no longer makes shows up.
	Dirs       []string
	Units      []string
	Containers []string
	// Users are accounts and Mounts mount points whose presence to report.
	Users, Mounts []string
}

// File is a regular file's mode and SHA-256, or a link's target.
type File struct {
	Mode   int
	SHA256 string
	Link   string // set for a symbolic link
}

// Unit is a unit's state as `systemctl show` gives it.
type Unit struct {
	Load, Active, Sub, Enabled string
}

// State is what the host has.
type State struct {
	Files map[string]File
	Units map[string]Unit
	// Containers maps a container's name to the image reference it was
	// created from ("" when there is no such container).
	Containers map[string]string
	// OSImage is the image the booted deployment came from ("" when the
	// host does not say: not an ostree host, or not booted from an image).
	OSImage string
	// Users and Mounts are those of the query that the host has.
	Users, Mounts map[string]bool
}

// ErrSSH wraps a failure to reach the host (ssh's own errors, a lost
// connection).
var ErrSSH = errors.New("ssh")

// ExitError is a script that ran on the host and failed.
type ExitError struct {
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("the script on the host exited %d: %s", e.Code, e.Stderr)
}

// Observe runs the probe on the host (as root: through sudo -n for another
// user) and parses what it prints.
func (h Host) Observe(ctx context.Context, q Query) (*State, error) {
	args := []string{h.RootOrSlash()}
	args = append(args, q.Dirs...)
	args = append(args, "--")
	args = append(args, q.Units...)
	args = append(args, "--")
	args = append(args, q.Containers...)
	args = append(args, "--")
	args = append(args, q.Users...)
	args = append(args, "--")
	args = append(args, q.Mounts...)
	out, err := h.Run(ctx, probeScript, nil, args...)
	if err != nil {
		return nil, err
	}
	return parse(out)
}

// RootOrSlash is Root, "/" when unset.
func (h Host) RootOrSlash() string {
	if h.Root == "" {
		return "/"
	}
	return h.Root
}

// Run runs script with sh on the host, as root, with args, and returns its
// standard output. The script and args travel as arguments quoted for the
// remote login shell, so stdin (which may be nil) is left for data.
func (h Host) Run(ctx context.Context, script string, stdin io.Reader, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := h.Stream(ctx, script, stdin, &stdout, args...)
	return stdout.Bytes(), err
}

// Stream is Run writing the script's standard output to stdout as it comes.
func (h Host) Stream(ctx context.Context, script string, stdin io.Reader, stdout io.Writer, args ...string) error {
	if len(h.SSH) == 0 {
		return fmt.Errorf("%w: no ssh command", ErrSSH)
	}
	// As root, or through sudo -n (never a password prompt) for another user.
	wrapper := `s=$1; shift; if [ "$(id -u)" -eq 0 ]; then exec sh -c "$s" sovereign "$@"; else exec sudo -n sh -c "$s" sovereign "$@"; fi`
	words := append([]string{"sh", "-c", wrapper, "sovereign", script}, args...)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = units.ShellQuote(w)
	}
	cmdArgs := append(append([]string{}, h.SSH[1:]...), "-o", "BatchMode=yes", "--", h.Target, strings.Join(quoted, " "))
	cmd := exec.CommandContext(ctx, h.SSH[0], cmdArgs...)
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		var exit *exec.ExitError
		// ssh exits 255 for its own failures, otherwise with the script's status.
		if errors.As(err, &exit) && exit.ExitCode() != 255 && ctx.Err() == nil {
			return &ExitError{Code: exit.ExitCode(), Stderr: msg}
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%w: %s: %s", ErrSSH, h.Target, msg)
	}
	return nil
}

func parse(out []byte) (*State, error) {
	st := &State{Files: map[string]File{}, Units: map[string]Unit{}, Containers: map[string]string{}, Users: map[string]bool{}, Mounts: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		bad := func() error { return fmt.Errorf("the host's report, line %d: unexpected %q", line, sc.Text()) }
		switch {
		case f[0] == "F" && len(f) == 4:
			mode, err := strconv.ParseInt(f[1], 8, 32)
			if err != nil || len(f[2]) != 64 {
				return nil, bad()
			}
			st.Files[f[3]] = File{Mode: int(mode), SHA256: f[2]}
		case f[0] == "L" && len(f) == 3:
			st.Files[f[2]] = File{Link: f[1]}
		case f[0] == "U" && len(f) == 6:
			st.Units[f[1]] = Unit{Load: f[2], Active: f[3], Sub: f[4], Enabled: f[5]}
		case f[0] == "C" && len(f) == 3:
			if f[2] == "-" {
				f[2] = ""
			}
			st.Containers[f[1]] = f[2]
		case f[0] == "O" && len(f) == 2:
			st.OSImage = f[1]
		case f[0] == "P" && len(f) == 2:
			st.Users[f[1]] = true
		case f[0] == "M" && len(f) == 2:
			st.Mounts[f[1]] = true
		default:
			return nil, bad()
		}
	}
	return st, sc.Err()
}

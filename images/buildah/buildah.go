// Package buildah builds and pushes container images with the buildah
// command, the builder of the containers/ tools: sovereign renders a
// Containerfile and lets an existing builder build it, never a home-made one.
package buildah

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// ErrNotFound is returned by Find when no buildah is on the PATH.
var ErrNotFound = errors.New("buildah is not installed")

// Buildah is one buildah program and how to run it.
type Buildah struct {
	// Path is the buildah executable.
	Path string
	// Env is the environment buildah runs with: its configuration
	// (CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF, REGISTRY_AUTH_FILE)
	// comes from there.
	Env []string
	// Isolation is bud's --isolation ("chroot" where the build itself runs
	// in a container or cgroups are not delegated); "" keeps buildah's.
	Isolation string
	// Log receives buildah's own output, line by line, prefixed: the
	// progress of a build that can take most of an hour.
	Log io.Writer
}

// Find looks buildah up on the PATH of environ.
func Find(environ []string) (*Buildah, error) {
	for _, dir := range filepath.SplitList(lookupEnv(environ, "PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, "buildah")
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return &Buildah{Path: p, Env: environ}, nil
		}
	}
	return nil, ErrNotFound
}

func lookupEnv(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// Version is "buildah 1.28.2", as the lock records the builder.
func (b *Buildah) Version(ctx context.Context) (string, error) {
	out, err := b.output(ctx, "--version")
	if err != nil {
		return "", err
	}
	// "buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)"
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "buildah" || f[1] != "version" {
		return "", fmt.Errorf("buildah --version printed %q, not a version", strings.TrimSpace(out))
	}
	return "buildah " + f[2], nil
}

// Build builds the Containerfile in dir for platform ("linux/arm64") and
// names the result tag in buildah's local storage.
func (b *Buildah) Build(ctx context.Context, dir, containerfile, platform, tag string) error {
	// --timestamp 0: no build time in the image, so that what changes
	// between two builds is what they installed.
	args := []string{"bud", "--platform", platform, "--file", filepath.Join(dir, containerfile), "--tag", tag, "--layers=false", "--timestamp", "0"}
	if b.Isolation != "" {
		args = append(args, "--isolation", b.Isolation)
	}
	return b.run(ctx, append(args, dir)...)
}

// Push pushes image to dest, a containers-transports(5) reference
// ("docker://REGISTRY/REPOSITORY:TAG", "oci:DIR"), and returns the digest
// of the manifest it wrote.
func (b *Buildah) Push(ctx context.Context, image, dest string) (string, error) {
	tmp, err := os.MkdirTemp("", "sovereign-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	digestFile := filepath.Join(tmp, "digest")
	if err := b.run(ctx, "push", "--digestfile", digestFile, image, dest); err != nil {
		return "", err
	}
	d, err := os.ReadFile(digestFile)
	if err != nil {
		return "", fmt.Errorf("buildah push wrote no digest: %w", err)
	}
	return strings.TrimSpace(string(d)), nil
}

// Remove deletes image from buildah's local storage.
func (b *Buildah) Remove(ctx context.Context, image string) error {
	return b.run(ctx, "rmi", image)
}

// run runs buildah with its output going to Log; on failure the error
// carries the last lines, which say why.
func (b *Buildah) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, b.Path, args...)
	cmd.Env = b.Env
	tail := &lastLines{max: 8, w: b.Log}
	cmd.Stdout, cmd.Stderr = tail, tail
	err := cmd.Run()
	tail.flush()
	if err != nil {
		return &Error{Args: args, Err: err, Tail: tail.lines}
	}
	return nil
}

func (b *Buildah) output(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.Path, args...)
	cmd.Env = b.Env
	out, err := cmd.Output()
	if err != nil {
		return "", &Error{Args: args, Err: err}
	}
	return string(out), nil
}

// Error is a buildah command that failed, with the last lines it printed.
type Error struct {
	Args []string
	Err  error
	Tail []string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("buildah %s: %v", e.Args[0], e.Err)
	if len(e.Tail) > 0 {
		msg += ":\n    " + strings.Join(e.Tail, "\n    ")
	}
	return msg
}

// lastLines copies what it is written to w, each line prefixed, and keeps
// the last max lines for the error message.
type lastLines struct {
	mu      sync.Mutex
	max     int
	w       io.Writer
	partial []byte
	lines   []string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *lastLines) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.line(string(l.partial))
		l.partial = nil
	}
}

func (l *lastLines) line(s string) {
	s = strings.TrimRight(s, "\r")
	if l.w != nil {
		fmt.Fprintf(l.w, "  | %s\n", s)
	}
	if l.lines = append(l.lines, s); len(l.lines) > l.max {
		l.lines = l.lines[1:]
	}
}

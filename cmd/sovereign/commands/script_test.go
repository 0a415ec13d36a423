package commands_test

// The CLI is tested with testscript: each testdata/script/*.txtar runs the
// real sovereign binary (this test binary, re-executed by testscript.Main)
// as a subprocess, so flags, exit codes, stdout/stderr and the files left on
// disk are exactly what a user gets. The scripts double as readable examples
// of every command in the README.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
)

// statusFileEnv names a file in which the sovereign subprocess records its
// exit code, so that scripts can assert it with `status N` (testscript's
// `! exec` only says "non-zero").
const statusFileEnv = "SOVEREIGN_TESTSCRIPT_STATUS_FILE"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sovereign": func() {
			statusFile := os.Getenv(statusFileEnv)
			if statusFile != "" {
				// A stale code must not pass for this run's if it crashes.
				os.Remove(statusFile)
			}
			code := commands.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, afero.NewOsFs(), os.Environ())
			if statusFile != "" {
				if err := os.WriteFile(statusFile, []byte(strconv.Itoa(code)), 0o644); err != nil {
					fmt.Fprintf(os.Stderr, "testscript harness: recording the exit status: %v\n", err)
					os.Exit(125)
				}
			}
			os.Exit(code)
		},
	})
}

func TestScripts(t *testing.T) {
	// go test runs in cmd/sovereign/commands; the reference blueprints are
	// at the repository root.
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	blueprintsDir := filepath.Join(repo, "blueprints")
	if _, err := os.Stat(filepath.Join(blueprintsDir, "dgx-station-gb300.hcl")); err != nil {
		t.Fatalf("reference blueprints not found: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("SOVEREIGN_UPDATE_GOLDEN") != "",
		Setup: func(e *testscript.Env) error {
			e.Setenv(statusFileEnv, filepath.Join(e.WorkDir, ".tmp", "sovereign-exit-status"))
			return copyReferenceBlueprints(blueprintsDir, filepath.Join(e.WorkDir, "blueprints"))
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				// root ignores permission bits: an unwritable folder is not.
				return os.Geteuid() == 0, nil
			case "known_bugs":
				// bug_*.txtar scripts state the right behaviour for bugs
				// that are reported but not fixed yet; they skip unless
				// SOVEREIGN_TEST_KNOWN_BUGS=1, which shows them failing.
				return os.Getenv("SOVEREIGN_TEST_KNOWN_BUGS") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status": cmdStatus,
			"mode":   cmdMode,
			"ls":     cmdLs,
			"tree":   cmdTree,
		},
	})
}

// copyReferenceBlueprints copies blueprints/*.hcl, blueprints/keys/ and the collective module folder blueprints/collective/ into
// dst, leaving alone any file the script's archive already put there.
func copyReferenceBlueprints(src, dst string) error {
	copyFile := func(from, to string) error {
		if _, err := os.Stat(to); err == nil {
			return nil
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		// The example secrets are owner-only, as init writes them and as
		// the build asks (a checkout has them 0644).
		mode := fs.FileMode(0o644)
		if ext := filepath.Ext(to); ext == ".secret" || ext == ".key" || filepath.Base(to) == "key.pem" {
			mode = 0o600
		}
		return os.WriteFile(to, b, mode)
	}
	hcls, err := filepath.Glob(filepath.Join(src, "*.hcl"))
	if err != nil {
		return err
	}
	keys, err := filepath.Glob(filepath.Join(src, "keys", "*"))
	if err != nil {
		return err
	}
	// The shared service module with the gateway's members file and example secrets.
	var gateway []string
	err = filepath.WalkDir(filepath.Join(src, "collective"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			gateway = append(gateway, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	keys = append(keys, gateway...)
	for _, f := range append(hcls, keys...) {
		rel, _ := filepath.Rel(src, f)
		if err := copyFile(f, filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	return nil
}

// status N: the last `exec sovereign` exited with code N.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: status CODE")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	f := ts.Getenv(statusFileEnv)
	b, err := os.ReadFile(f)
	if errors.Is(err, fs.ErrNotExist) {
		ts.Fatalf("sovereign recorded no exit status: it was not run, or it crashed")
	}
	ts.Check(err)
	ts.Check(os.Remove(f))
	got, err := strconv.Atoi(string(b))
	ts.Check(err)
	if got != want {
		ts.Fatalf("sovereign exited with %d, want %d", got, want)
	}
}

// mode PERM PATH...: each path has exactly the permission bits PERM (octal).
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: mode PERM PATH...")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	for _, p := range args[1:] {
		info, err := os.Stat(ts.MkAbs(p))
		ts.Check(err)
		got := info.Mode().Perm()
		switch {
		case !neg && got != fs.FileMode(want):
			ts.Fatalf("%s has mode %#o, want %#o", p, got, want)
		case neg && got == fs.FileMode(want):
			ts.Fatalf("%s has mode %#o, want any other", p, got)
		}
	}
}

// ls DIR: print the names in DIR, hidden ones included, one a line, so that
// `cmp stdout` or `! stdout` can check what sits beside an output folder.
func cmdLs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: ls DIR")
	}
	entries, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			name += "/"
		}
		fmt.Fprintln(ts.Stdout(), name)
	}
}

// tree DIR: print every entry under DIR with its mode, and for files their
// size and SHA-256, in path order. Saving it with `cp stdout` and comparing
// it later proves a folder was left byte-for-byte and mode-for-mode alone.
func cmdTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tree DIR")
	}
	root := ts.MkAbs(args[0])
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			lines = append(lines, fmt.Sprintf("%v %s/", info.Mode(), rel))
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%v %s %d %x", info.Mode(), rel, len(b), sha256.Sum256(b)))
		return nil
	})
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), strings.Join(lines, "\n"))
	if len(lines) > 0 {
		fmt.Fprintln(ts.Stdout())
	}
}

package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/commands"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/tests/golden"
)

// errorsDir holds the bad-input corpus: each NAME.hcl (or NAME/ folder, for
// cases that need several files or helper files such as keys) is one broken
// blueprint, and NAME.golden is exactly what `sovereign build` prints on
// stderr for it. Rewrite the goldens with `make golden`; never by hand.
const errorsDir = "testdata/errors"

// badInput is one case of the corpus. Its settings come from the comment
// lines at the top of the case file (for a folder, of its first .hcl file in
// the order the loader reads them):
//
//	# ARGS: -var port=eighty        extra command-line arguments
//	# ENV: NAME=VALUE               environment variables (repeatable)
//	# ERRORS: 3                     how many errors the run must report
//	# NOLOCATION: why               an error that has no place in a file
//
// ERRORS is required: it is what proves that one run reports every mistake in
// a file, not just the first.
type badInput struct {
	name       string // NAME
	target     string // testdata/errors/NAME.hcl or testdata/errors/NAME
	golden     string // testdata/errors/NAME.golden
	args       []string
	env        []string
	errors     int
	noLocation string
}

func TestBadInputs(t *testing.T) {
	cases := loadBadInputs(t)
	if len(cases) < 30 {
		t.Errorf("the corpus has %d cases; the issue asks for at least 30", len(cases))
	}
	several := 0
	for _, c := range cases {
		if c.errors >= 3 {
			several++
		}
	}
	if several < 3 {
		t.Errorf("%d cases have 3 or more independent errors; keep at least 3 to prove every error is reported in one run", several)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ownerOnlySecrets(t, c.target)
			tmp := t.TempDir()
			out := filepath.Join(tmp, "out")
			args := append([]string{"build", c.target, "-o", out}, c.args...)
			var stdout, stderr bytes.Buffer
			code := runMain(t, args, &stdout, &stderr, c.env)

			golden.Check(t, c.golden, stderr.Bytes())
			if code != commands.ExitInvalid {
				t.Errorf("exit code %d, want %d (the blueprint is wrong)\nstderr:\n%s", code, commands.ExitInvalid, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("a failed build printed on stdout:\n%s", stdout.String())
			}

			diags := parseDiagnosticText(stderr.String())
			var errs []printedDiag
			for _, d := range diags {
				if d.severity == "Error" {
					errs = append(errs, d)
				}
			}
			if len(errs) != c.errors {
				t.Errorf("%d errors printed, the case file says # ERRORS: %d", len(errs), c.errors)
			}
			if want := fmt.Sprintf("%d error(s); nothing was written.\n", len(errs)); !strings.HasSuffix(stderr.String(), want) {
				t.Errorf("stderr does not end with %q", want)
			}
			located, unlocated := 0, 0
			for _, d := range errs {
				switch {
				case d.file == "":
					unlocated++
				case !strings.HasPrefix(d.file, errorsDir+"/"):
					t.Errorf("error %q is located in %q, not in the case's files", d.summary, d.file)
				default:
					located++
				}
			}
			if c.noLocation == "" && unlocated > 0 {
				t.Errorf("%d error(s) have no file and line; every error in a blueprint must point at its source (or the case must say # NOLOCATION: why)", unlocated)
			}
			if c.noLocation != "" && unlocated == 0 {
				t.Errorf("the case says # NOLOCATION: %s, but every error has a location", c.noLocation)
			}
			if c.noLocation == "" && located == 0 {
				t.Errorf("no error with a location (on FILE line N) was printed")
			}

			// Nothing may be written: not the output, not a temporary folder
			// beside it.
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the output folder %s exists after a failed build (stat: %v)", out, err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed build left %d entries beside the output folder, such as %s", len(left), left[0].Name())
			}

			checkDiagnosticRanges(t, c)
		})
	}
}

// ownerOnlySecrets makes a folder case's key files owner-only, as a user's
// are (git checks them out 0644), so that the goldens do not depend on the
// checkout's modes through the secret file warning.
func ownerOnlySecrets(t *testing.T, target string) {
	t.Helper()
	_ = filepath.WalkDir(target, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Base(p) == "key.pem" || filepath.Ext(p) == ".secret" || filepath.Ext(p) == ".key") {
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
}

// checkDiagnosticRanges loads the case through the pipeline, as the CLI does,
// and checks what the printed text does not show: every error's subject has a
// column, and points inside a file the parser read.
func checkDiagnosticRanges(t *testing.T, c badInput) {
	t.Helper()
	in := lang.Inputs{Env: c.env}
	for i := 0; i < len(c.args); i++ {
		switch c.args[i] {
		case "-var":
			i++
			name, value, _ := strings.Cut(c.args[i], "=")
			in.Vars = append(in.Vars, lang.VarSetting{Name: name, Value: value})
		case "-var-file":
			i++
			in.VarFiles = append(in.VarFiles, c.args[i])
		default:
			t.Fatalf("# ARGS: %q is not -var or -var-file; teach checkDiagnosticRanges about it", c.args[i])
		}
	}
	p := decode.NewLoader(afero.NewReadOnlyFs(afero.NewOsFs()), engines.Kinds)
	res, diags := pipeline.Build(p, c.target, in)
	if res != nil {
		t.Errorf("pipeline.Build returned a result along with errors")
	}
	files := p.Files()
	n := 0
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		n++
		if d.Subject == nil {
			continue // checked on the printed text, against # NOLOCATION
		}
		s := d.Subject
		f, ok := files[s.Filename]
		switch {
		case !ok:
			t.Errorf("error %q points into %q, which the parser did not read", d.Summary, s.Filename)
		case s.Start.Line < 1 || s.Start.Column < 1:
			t.Errorf("error %q has no line and column: %s", d.Summary, s)
		case s.Start.Byte > s.End.Byte || s.End.Byte > len(f.Bytes):
			t.Errorf("error %q has a range %s outside its file (%d bytes)", d.Summary, s, len(f.Bytes))
		}
	}
	if n != c.errors {
		t.Errorf("pipeline.Build reported %d errors, the case file says # ERRORS: %d", n, c.errors)
	}
}

// runMain runs the CLI and turns a panic into a test failure with its stack.
func runMain(t *testing.T, args []string, stdout, stderr *bytes.Buffer, env []string) (code int) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("sovereign %s panicked: %v\n%s", strings.Join(args, " "), r, debug.Stack())
		}
	}()
	return commands.Main(context.Background(), args, stdout, stderr, afero.NewOsFs(), env)
}

// printedDiag is one diagnostic as hcl's text writer printed it.
type printedDiag struct {
	severity, summary string
	file              string // "" when printed without a location
	line              int
}

var diagLocation = regexp.MustCompile(`^  on (.+) line (\d+)(?:, in .*)?:$`)

// parseDiagnosticText splits the writer's output into diagnostics: each
// starts with "Error: " or "Warning: " and may have an "  on FILE line N"
// line right after the blank line that follows.
func parseDiagnosticText(s string) []printedDiag {
	var out []printedDiag
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		sev, summary, ok := strings.Cut(l, ": ")
		if !ok || (sev != "Error" && sev != "Warning") {
			continue
		}
		d := printedDiag{severity: sev, summary: summary}
		if i+2 < len(lines) && lines[i+1] == "" {
			if m := diagLocation.FindStringSubmatch(lines[i+2]); m != nil {
				d.file = m[1]
				d.line, _ = strconv.Atoi(m[2])
			}
		}
		out = append(out, d)
	}
	return out
}

func loadBadInputs(t *testing.T) []badInput {
	t.Helper()
	entries, err := os.ReadDir(errorsDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []badInput
	goldens := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".golden") {
			goldens[name] = true
			continue
		}
		c := badInput{target: filepath.ToSlash(filepath.Join(errorsDir, name))}
		header := c.target
		switch {
		case e.IsDir():
			c.name = name
			first, err := firstBlueprintFile(c.target)
			if err != nil {
				t.Fatal(err)
			}
			header = first
		case strings.HasSuffix(name, ".hcl"):
			c.name = strings.TrimSuffix(name, ".hcl")
		default:
			t.Fatalf("%s/%s is neither a case (NAME.hcl, NAME/) nor a golden file; helper files go inside a NAME/ folder", errorsDir, name)
		}
		c.golden = filepath.ToSlash(filepath.Join(errorsDir, c.name+".golden"))
		if err := c.readHeader(header); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if !golden.Updating() {
		for _, c := range cases {
			delete(goldens, c.name+".golden")
		}
		for g := range goldens {
			t.Errorf("%s/%s has no case: delete it", errorsDir, g)
		}
	}
	return cases
}

// firstBlueprintFile is the first file the loader reads in a folder case.
func firstBlueprintFile(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".hcl") && !strings.HasSuffix(n, lang.LockFileSuffix) && !strings.HasSuffix(n, lang.VarFileSuffix) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("the folder case %s has no .hcl file", dir)
	}
	sort.Strings(names)
	return filepath.ToSlash(filepath.Join(dir, names[0])), nil
}

// readHeader reads the # KEY: value lines at the top of a case file.
func (c *badInput) readHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	haveErrors := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "ARGS":
			c.args = append(c.args, strings.Fields(value)...)
		case "ENV":
			c.env = append(c.env, value)
		case "ERRORS":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return fmt.Errorf("%s: # ERRORS: %q must be a positive number", path, value)
			}
			c.errors, haveErrors = n, true
		case "NOLOCATION":
			c.noLocation = value
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if !haveErrors {
		return fmt.Errorf("%s: the case needs a # ERRORS: N line saying how many errors it has", path)
	}
	return nil
}

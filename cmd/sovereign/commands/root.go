// Package commands is sovereign's command line: the cobra tree, its flags,
// printing diagnostics and choosing exit codes. It is the only package that
// deals with the process's streams and the real filesystem, which it
// receives from main so that tests run it in memory.
package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitInvalid  = 1 // the blueprint or an input is wrong; diagnostics say what
	ExitUsage    = 2 // the command line is wrong
	ExitExternal = 3 // something outside the blueprint failed: disk, registry
)

// env is what a command runs with besides its arguments.
type env struct {
	ctx     context.Context
	stdin   io.Reader // where a confirmation is read from
	stdout  io.Writer
	stderr  io.Writer
	fs      afero.Fs
	environ []string
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, args...)}
}

func externalError(err error) error { return &exitError{ExitExternal, err} }

// errDiagnostics means the diagnostics were already printed.
var errDiagnostics = &exitError{ExitInvalid, errors.New("the blueprint has errors")}

// Main runs the sovereign command line with nothing on standard input and
// returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, fsys afero.Fs, environ []string) int {
	return MainWithInput(ctx, args, strings.NewReader(""), stdout, stderr, fsys, environ)
}

// MainWithInput is Main with standard input, which a command that asks for
// confirmation (apply) reads.
func MainWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, fsys afero.Fs, environ []string) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, fs: fsys, environ: environ}
	root := newRoot(e)
	root.SetArgs(terraformStyleFlags(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// cobra's own errors are about the command line: unknown command,
		// unknown flag, wrong number of arguments.
		ee = &exitError{ExitUsage, err}
	}
	if ee != errDiagnostics {
		fmt.Fprintf(stderr, "Error: %s\n", ee.err)
		if ee.code == ExitUsage {
			// The command that was run, or the root when it is unknown.
			path := "sovereign"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", path)
		}
	}
	return ee.code
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "sovereign",
		Short: "Compile an HCL blueprint into a ready, self-hosted LLM appliance",
		Long: `sovereign turns one HCL blueprint — the host, the inference engines and
their models — into an Ignition config, systemd units and Podman Quadlets,
with every container image pinned by digest, that provision a fresh Fedora
CoreOS machine into a ready appliance serving an OpenAI-compatible API.

The same blueprint builds the same bytes every time, offline. To update the
appliance, change the blueprint, build again and reprovision or reboot.

A BLUEPRINT argument is one .hcl file or a folder of them. Variables are set
with --var NAME=VALUE, --var-file FILE.vars.hcl or SOVEREIGN_VAR_NAME in the
environment: --var beats --var-file beats the environment, whatever the order
on the command line; among several of one kind, the last wins. Terraform's
one-dash -var and -var-file work too.

Exit codes: 0 ok, 1 the blueprint or input is wrong (diagnostics printed),
2 usage, 3 an external failure (disk, registry).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%s", err)
	})
	root.AddCommand(newBuild(e), newDiff(e), newValidate(e), newPlan(e), newLock(e), newOS(e), newBundle(e), newInit(e), newFmt(e), newMember(e), newVerify(e), newApply(e), newVersion(e))
	return root
}

// terraformStyleFlags accepts -var, -var-file and -out with one dash, as
// Terraform users type them, by rewriting them to the double-dash form pflag
// parses (pflag would read -out=DIR as -o ut=DIR).
func terraformStyleFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for _, f := range []string{"-var-file", "-var", "-out"} {
			if a == f || strings.HasPrefix(a, f+"=") {
				a = "-" + a
				break
			}
		}
		out[i] = a
	}
	return out
}

// exactArgs is cobra.ExactArgs with our usage exit code and a message that
// names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s (got %d argument(s))", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// maxSnippetLine is the longest line of a diagnostic printed in full.
const maxSnippetLine = 300

// printBuildDiagnostics is printDiagnostics for a build's, where a failure
// outside the blueprint (a registry that could not be read) is not the
// blueprint's fault: it is printed as the error of exit code 3, after any
// warnings.
func (e *env) printBuildDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	ext := pipeline.External(diags)
	if ext == nil {
		return e.printDiagnostics(diags, files)
	}
	var warnings hcl.Diagnostics
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			warnings = append(warnings, d)
		}
	}
	if err := e.printDiagnostics(warnings, files); err != nil {
		return err
	}
	return externalError(ext)
}

// printDiagnostics writes diagnostics with source snippets and returns
// errDiagnostics when any is an error.
func (e *env) printDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	if len(diags) == 0 {
		return nil
	}
	// In source order, whatever order the phases found them in.
	diags = lang.SortDiagnostics(diags)
	diags = lang.CutLongValues(diags)
	var buf bytes.Buffer
	wr := hcl.NewDiagnosticTextWriter(&buf, files, 100, false)
	_ = wr.WriteDiagnostics(diags)
	// A source line can be huge too (a 200 KB literal): cut what the
	// snippet shows of it.
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if r := []rune(line); len(r) > maxSnippetLine {
			line = fmt.Sprintf("%s… (%d more characters)\n", string(r[:maxSnippetLine]), len(r)-maxSnippetLine)
		}
		io.WriteString(e.stderr, line)
	}
	if diags.HasErrors() {
		n := 0
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				n++
			}
		}
		fmt.Fprintf(e.stderr, "%d error(s); nothing was written.\n", n)
		return errDiagnostics
	}
	return nil
}

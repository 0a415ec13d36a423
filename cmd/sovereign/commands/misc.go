package commands

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/spf13/afero"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/starter"
	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/units/ignition"
)

// Version is set at release time with -ldflags "-X …commands.Version=v1.2.3";
// otherwise the module version from the build info is shown.
var Version = ""

func newVersion(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sovereign's version and the config formats it writes",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := Version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(e.stdout, "sovereign %s\nwrites Butane %s %s, translated to Ignition %s\n", v, ignition.Variant, ignition.Version, ignition.IgnitionSpec)
			return nil
		},
	}
}

func newInit(e *env) *cobra.Command {
	var sshKey string
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter blueprint for a DGX Station GB300",
		Long: `Init writes a starter blueprint into DIR (default: the current folder): a
DGX Station GB300 serving Qwen3-235B-A22B (AWQ 4-bit) with vLLM, FP8 KV cache
and 32K context — the reference blueprint sovereign ships. It writes:

  DIR/sovereign.hcl                 the blueprint
  DIR/sovereign.lock.hcl            its image pins, so that it builds offline
  DIR/keys/admin.pub                your SSH public key (--ssh-key), the only
                                    way to log in to the appliance
  DIR/collective/service.hcl        the engine and gateway module it calls
  DIR/collective/gateway/…          members, fresh secrets (0600): a cookie
                                    secret, two member API keys, a self-signed
                                    TLS certificate and key, and a placeholder
                                    OIDC client secret to replace with the one
                                    your identity provider issues

Build it with 'sovereign build DIR -o out' (or DIR/sovereign.hcl: both find
DIR/sovereign.lock.hcl). Existing files are never overwritten unless --force
is given.`,
		Example: "  sovereign init coop --ssh-key ~/.ssh/id_ed25519.pub",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("init takes at most one DIR")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			key, err := e.readSSHKey(sshKey)
			if err != nil {
				return err
			}
			files := []struct {
				name   string
				data   []byte
				secret bool
			}{
				{starterName + ".hcl", starter.StarterFor(dir), false},
				{starterName + lang.LockFileSuffix, starter.StarterLock(), false},
				{filepath.Join("keys", "admin.pub"), key, false},
			}
			// The gateway's secrets, fresh: the repository's are examples.
			gw, err := starter.StarterGatewayFiles(rand.Reader, starter.StarterDomain, time.Now())
			if err != nil {
				return externalError(err)
			}
			for _, f := range gw {
				files = append(files, struct {
					name   string
					data   []byte
					secret bool
				}{filepath.FromSlash(f.Path), f.Data, f.Secret})
			}
			if !force {
				for _, f := range files {
					if _, err := e.fs.Stat(filepath.Join(dir, f.name)); err == nil {
						return usageErrorf("%s already exists; use --force to overwrite it", filepath.Join(dir, f.name))
					}
				}
			}
			for _, f := range files {
				p := filepath.Join(dir, f.name)
				if err := e.fs.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return externalError(err)
				}
				mode := fs.FileMode(0o644)
				if f.secret {
					mode = 0o600
				}
				if err := afero.WriteFile(e.fs, p, f.data, mode); err != nil {
					return externalError(err)
				}
				// WriteFile keeps an existing file's mode; a secret must not.
				if err := e.fs.Chmod(p, mode); err != nil {
					return externalError(err)
				}
				fmt.Fprintf(e.stdout, "wrote %s\n", p)
			}
			fmt.Fprintf(e.stdout, "Next: edit %s, then: sovereign build %s -o out\n", filepath.Join(dir, starterName+".hcl"), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&sshKey, "ssh-key", "", "public key for the first admin (default: ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

// starterName is the starter blueprint's file name without .hcl: named as
// the folder form names its lock (sovereign.lock.hcl), so that building the
// folder and building the file find the same lock.
var starterName = strings.TrimSuffix(images.LockFileName, lang.LockFileSuffix)

func (e *env) readSSHKey(path string) ([]byte, error) {
	candidates := []string{path}
	if path == "" {
		home := ""
		for _, kv := range e.environ {
			if v, ok := strings.CutPrefix(kv, "HOME="); ok {
				home = v
			}
		}
		candidates = nil
		if home != "" {
			for _, n := range []string{"id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"} {
				candidates = append(candidates, filepath.Join(home, ".ssh", n))
			}
		}
	}
	for _, c := range candidates {
		b, err := afero.ReadFile(e.fs, c)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			return nil, usageErrorf("%s is a private key; give the public key (.pub)", c)
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey(b); err != nil {
			return nil, usageErrorf("%s is not an OpenSSH public key (one line such as \"ssh-ed25519 AAAA… you@laptop\", as ssh-keygen writes to the .pub file)", c)
		}
		return b, nil
	}
	if path != "" {
		return nil, usageErrorf("cannot read the SSH public key %s", path)
	}
	return nil, usageErrorf("no SSH public key found in ~/.ssh; give one with --ssh-key FILE (ssh-keygen -t ed25519 makes one)")
}

func newFmt(e *env) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite blueprint files in the canonical HCL style",
		Long: `Fmt rewrites .hcl files (blueprints, variable files and lock files) in the
canonical HCL layout. A PATH may be a file or a folder, searched with its
module folders (hidden folders such as .git are skipped); the default is the
current folder. With --check nothing is
written: the files that need formatting are listed and the exit code is 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			var files []string
			for _, a := range args {
				info, err := e.fs.Stat(a)
				if err != nil {
					return usageErrorf("%s: %v", a, err)
				}
				if !info.IsDir() {
					files = append(files, a)
					continue
				}
				// Module folders are part of the blueprint: formatted too.
				// Hidden folders (.git) are not.
				err = afero.Walk(e.fs, a, func(p string, info fs.FileInfo, err error) error {
					switch {
					case err != nil:
						return err
					case info.IsDir() && p != a && strings.HasPrefix(info.Name(), "."):
						return filepath.SkipDir
					case !info.IsDir() && strings.HasSuffix(info.Name(), ".hcl"):
						files = append(files, p)
					}
					return nil
				})
				if err != nil {
					return externalError(err)
				}
			}
			sort.Strings(files)
			var diags hcl.Diagnostics
			srcs := map[string]*hcl.File{}
			var unformatted []string
			for _, f := range files {
				src, err := afero.ReadFile(e.fs, f)
				if err != nil {
					return externalError(err)
				}
				// Formatting a file that does not parse would garble it.
				parsed, d := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
				srcs[f] = parsed
				diags = append(diags, d...)
				if d.HasErrors() {
					continue
				}
				out := hclwrite.Format(src)
				if bytes.Equal(out, src) {
					continue
				}
				unformatted = append(unformatted, f)
				if !check {
					info, _ := e.fs.Stat(f)
					if err := afero.WriteFile(e.fs, f, out, info.Mode()&fs.ModePerm); err != nil {
						return externalError(err)
					}
				}
			}
			if err := e.printDiagnostics(diags, srcs); err != nil {
				return err
			}
			for _, f := range unformatted {
				fmt.Fprintln(e.stdout, f)
			}
			if check && len(unformatted) > 0 {
				return &exitError{ExitInvalid, fmt.Errorf("%d file(s) need formatting: run sovereign fmt", len(unformatted))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "list files that need formatting and exit 1, without writing")
	return cmd
}

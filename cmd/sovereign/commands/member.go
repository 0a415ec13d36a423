package commands

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/afero"
	"github.com/spf13/cobra"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/members"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/blueprints/starter"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/gateway"
)

// memberFlags are the flags every member subcommand shares.
type memberFlags struct {
	blueprint string
	json      bool
	in        inputFlags
}

func newMember(e *env) *cobra.Command {
	var f memberFlags
	cmd := &cobra.Command{
		Use:   "member",
		Short: "Add, remove, list members and rotate their API keys",
		Long: `Member edits the blueprint's member blocks in place — in its members_file,
or in the gateway block when the members sit there — changing only the block
of the member named, so every comment and line of the rest of the file stays
as it was. Key files are written beside the other members' keys with mode
0600. After each change the blueprint is loaded again; if it no longer
loads, the files are put back as they were and the problem is printed.

A change reaches the appliance with the next build (sovereign build, then
reprovision or update the host).`,
		Example: `  sovereign member add dave --email dave@example.org --rpm 120 -b blueprints/dgx-station-gb300.hcl
  sovereign member list -b ./coop
  sovereign member rotate dave -b ./coop
  sovereign member remove dave -b ./coop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("member needs a subcommand: add, remove, rotate or list (see sovereign member --help)")
		},
	}
	cmd.PersistentFlags().StringVarP(&f.blueprint, "blueprint", "b", ".", "the blueprint (a .hcl file or a folder) whose members to change")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print JSON for scripts")
	cmd.PersistentFlags().StringArrayVar(&f.in.vars, "var", nil, "set a variable the blueprint needs to load: --var NAME=VALUE (repeatable)")
	cmd.PersistentFlags().StringArrayVar(&f.in.varFiles, "var-file", nil, "read variables from an HCL file of NAME = VALUE lines (repeatable)")
	cmd.AddCommand(newMemberAdd(e, &f), newMemberRemove(e, &f), newMemberRotate(e, &f), newMemberList(e, &f))
	return cmd
}

// memberBook is the members file of a loaded blueprint, open for editing.
type memberBook struct {
	gw       *spec.Gateway
	path     string // the file the member blocks are in
	original []byte
	mode     fs.FileMode
	book     *members.Book
}

// openMembers loads the blueprint and opens the file its members are in.
func (e *env) openMembers(f *memberFlags) (*memberBook, error) {
	bp, err := e.loadForMembers(f)
	if err != nil {
		return nil, err
	}
	gw := bp.Gateway
	if gw == nil {
		return nil, &exitError{ExitInvalid, fmt.Errorf("%s has no gateway block, so it has no members", f.blueprint)}
	}
	mb := &memberBook{gw: gw, path: gw.MembersFile}
	inGateway := mb.path == ""
	if inGateway {
		mb.path = gw.DeclRange.Filename
	}
	info, err := e.fs.Stat(mb.path)
	if err != nil {
		return nil, externalError(err)
	}
	mb.mode = info.Mode().Perm()
	if mb.original, err = afero.ReadFile(e.fs, mb.path); err != nil {
		return nil, externalError(err)
	}
	// Without a member key file to follow, keys go to keys/ beside the
	// members file, written relative to where secret_file() reads from.
	keyDir, err := filepath.Rel(gw.BaseDir, filepath.Join(filepath.Dir(mb.path), "keys"))
	if err != nil {
		keyDir = "keys"
	}
	if mb.book, err = members.Open(mb.original, mb.path, inGateway, filepath.ToSlash(keyDir)); err != nil {
		return nil, &exitError{ExitInvalid, err}
	}
	return mb, nil
}

func (e *env) loadForMembers(f *memberFlags) (*spec.Blueprint, error) {
	inputs, err := f.in.inputs(e.environ)
	if err != nil {
		return nil, err
	}
	p := pipeline.NewLoader(e.fs)
	if p.IsFleet(f.blueprint) {
		// A fleet's members are shared: they are the gateway host's, and
		// loading the whole fleet checks every host after a change.
		fl, diags := p.LoadFleet(f.blueprint, inputs)
		if err := e.printDiagnostics(diags, p.Files()); err != nil {
			return nil, err
		}
		return fl.GatewayHost.Blueprint, nil
	}
	bp, diags := pipeline.Load(p, f.blueprint, inputs)
	if err := e.printDiagnostics(diags, p.Files()); err != nil {
		return nil, err
	}
	return bp, nil
}

// keyPath is where a secret_file() path of the gateway's lands on disk.
func (mb *memberBook) keyPath(rel string) string {
	if filepath.IsAbs(rel) {
		return filepath.Clean(rel)
	}
	return filepath.Join(mb.gw.BaseDir, filepath.FromSlash(rel))
}

// commit writes the edited members file and checks that the blueprint still
// loads. When it does not, the members file and whatever undo restores are
// put back, and the diagnostics are printed.
func (e *env) commitMembers(f *memberFlags, mb *memberBook, undo func()) error {
	if err := writeFileAtomicMode(e.fs, mb.path, mb.book.Bytes(), mb.mode); err != nil {
		undo()
		return externalError(fmt.Errorf("writing %s: %w", mb.path, err))
	}
	if _, err := e.loadForMembers(f); err != nil {
		rerr := writeFileAtomicMode(e.fs, mb.path, mb.original, mb.mode)
		undo()
		if rerr != nil {
			return externalError(errors.Join(err, fmt.Errorf("putting %s back: %w", mb.path, rerr)))
		}
		fmt.Fprintf(e.stderr, "The change was undone: %s is as it was.\n", mb.path)
		return err
	}
	return nil
}

// writeNewKey writes a fresh key to path (mode 0600), refusing to replace a
// file unless replace is set. It returns the key and an undo that puts back
// what was there.
func (e *env) writeNewKey(path string, replace bool) (string, func(), error) {
	key, err := starter.NewAPIKey(rand.Reader)
	if err != nil {
		return "", nil, externalError(err)
	}
	old, readErr := afero.ReadFile(e.fs, path)
	if readErr == nil && !replace {
		return "", nil, &exitError{ExitInvalid, fmt.Errorf("%s already exists; remove it or choose another member name", path)}
	}
	if err := e.fs.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", nil, externalError(err)
	}
	if err := writeFileAtomicMode(e.fs, path, []byte(key+"\n"), 0o600); err != nil {
		return "", nil, externalError(fmt.Errorf("writing %s: %w", path, err))
	}
	undo := func() { _ = e.fs.Remove(path) }
	if readErr == nil {
		undo = func() { _ = writeFileAtomicMode(e.fs, path, old, 0o600) }
	}
	return key, undo, nil
}

func newMemberAdd(e *env, f *memberFlags) *cobra.Command {
	var m members.Member
	var models string
	var noKey bool
	cmd := &cobra.Command{
		Use:   "add NAME --email EMAIL",
		Short: "Add a member with a fresh API key, printed once",
		Long: `Add writes a member block for NAME and, unless --no-key, a fresh API key
(sk- and 48 hex digits, mode 0600) beside the other members' key files. The
key is printed once, with the environment variables the official OpenAI SDKs
read and ready-to-paste curl, Python and JavaScript examples; sovereign
never shows it again (rotate gives a new one).`,
		Args: exactArgs(1, "one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m.Name = args[0]
			if !lang.ValidName(m.Name) {
				return usageErrorf("%q cannot name a member: names end up in file and unit names, so use lowercase letters, digits, dots and dashes, starting and ending with a letter or digit, at most 48 characters", m.Name)
			}
			if m.Email == "" {
				return usageErrorf("member add needs --email: the address the member signs in with")
			}
			m.BurstSet = cmd.Flags().Changed("burst")
			for _, s := range strings.Split(models, ",") {
				if s = strings.TrimSpace(s); s != "" {
					m.Models = append(m.Models, s)
				}
			}
			mb, err := e.openMembers(f)
			if err != nil {
				return err
			}
			if !noKey {
				m.KeyFile = mb.book.KeyFileFor(m.Name)
			}
			if err := mb.book.Add(m); err != nil {
				return &exitError{ExitInvalid, err}
			}
			key, undo := "", func() {}
			if !noKey {
				if key, undo, err = e.writeNewKey(mb.keyPath(m.KeyFile), false); err != nil {
					return err
				}
			}
			if err := e.commitMembers(f, mb, undo); err != nil {
				return err
			}
			return e.printMemberKey(f, mb, m.Name, m.Models, key, "added to "+mb.path)
		},
	}
	cmd.Flags().StringVar(&m.Email, "email", "", "the address the member signs in with (required)")
	cmd.Flags().IntVar(&m.RequestsPerMinute, "rpm", 0, "requests per minute (default: the gateway's default)")
	cmd.Flags().IntVar(&m.Burst, "burst", 0, "requests allowed at once above the rate")
	cmd.Flags().StringVar(&models, "models", "", "comma-separated served model names the member may use (default: all)")
	cmd.Flags().BoolVar(&noKey, "no-key", false, "no API key: the member signs in with a browser only")
	return cmd
}

func newMemberRemove(e *env, f *memberFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a member and their key file",
		Args:  exactArgs(1, "one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			mb, err := e.openMembers(f)
			if err != nil {
				return err
			}
			keyFile, err := mb.book.Remove(args[0])
			if err != nil {
				return &exitError{ExitInvalid, err}
			}
			if err := e.commitMembers(f, mb, func() {}); err != nil {
				return err
			}
			msg := fmt.Sprintf("Removed member %q from %s.", args[0], mb.path)
			if keyFile != "" {
				p := mb.keyPath(keyFile)
				if err := e.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return externalError(fmt.Errorf("%s; removing the key file %s: %w", msg, p, err))
				}
				msg += fmt.Sprintf(" Deleted the key file %s.", p)
			}
			if f.json {
				return writeJSON(e, map[string]any{"name": args[0], "removed": true, "members_file": mb.path})
			}
			fmt.Fprintln(e.stdout, msg+" They lose access once the appliance runs the next build.")
			return nil
		},
	}
}

func newMemberRotate(e *env, f *memberFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate NAME",
		Short: "Give a member a new API key, printed once",
		Long: `Rotate replaces a member's API key: a key file gets a fresh key (0600), a
key held as api_key_sha256 gets the new key's hash. The old key keeps working
until the appliance runs the next build.`,
		Args: exactArgs(1, "one NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			mb, err := e.openMembers(f)
			if err != nil {
				return err
			}
			name := args[0]
			key, err := starter.NewAPIKey(rand.Reader)
			if err != nil {
				return externalError(err)
			}
			holding, keyFile, err := mb.book.Rotate(name, key)
			if err != nil {
				return &exitError{ExitInvalid, err}
			}
			undo := func() {}
			where := "its api_key_sha256 in " + mb.path
			if holding == members.KeyInFile {
				p := mb.keyPath(keyFile)
				if key, undo, err = e.writeNewKey(p, true); err != nil {
					return err
				}
				where = p
			}
			if err := e.commitMembers(f, mb, undo); err != nil {
				return err
			}
			var models []string
			for _, m := range mb.gw.Members {
				if m.Name == name {
					models = m.Models
				}
			}
			return e.printMemberKey(f, mb, name, models, key, "has a new key ("+where+")")
		},
	}
}

func newMemberList(e *env, f *memberFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the members, their limits and how their keys are held (never the keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bp, err := e.loadForMembers(f)
			if err != nil {
				return err
			}
			if bp.Gateway == nil {
				return &exitError{ExitInvalid, fmt.Errorf("%s has no gateway block, so it has no members", f.blueprint)}
			}
			type row struct {
				Name              string   `json:"name"`
				Email             string   `json:"email"`
				RequestsPerMinute int      `json:"requests_per_minute"`
				Burst             int      `json:"burst"`
				Models            []string `json:"models"`
				Key               string   `json:"key"`
			}
			rows := make([]row, 0, len(bp.Gateway.Members))
			for _, m := range bp.Gateway.Members {
				limit := gateway.MemberLimit(m.Limit)
				r := row{Name: m.Name, Email: m.Email, RequestsPerMinute: limit.PerMinute, Burst: limit.Burst, Models: m.Models, Key: "none"}
				switch {
				case m.APIKey != nil:
					r.Key = "key"
				case m.APIKeySHA256 != "":
					r.Key = "sha256"
				}
				if r.Models == nil {
					r.Models = []string{}
				}
				rows = append(rows, r)
			}
			if f.json {
				return writeJSON(e, rows)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tEMAIL\tRPM\tBURST\tMODELS\tKEY")
			for _, r := range rows {
				models := "all"
				if len(r.Models) > 0 {
					models = strings.Join(r.Models, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", r.Name, r.Email, r.RequestsPerMinute, r.Burst, models, r.Key)
			}
			return tw.Flush()
		},
	}
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printMemberKey prints a new key once, with what a member pastes to use it.
func (e *env) printMemberKey(f *memberFlags, mb *memberBook, name string, models []string, key, what string) error {
	baseURL, model := memberEndpoint(mb.gw, models)
	if f.json {
		out := map[string]any{"name": name, "base_url": baseURL, "model": model, "members_file": mb.path}
		if key != "" {
			out["api_key"] = key
		}
		return writeJSON(e, out)
	}
	fmt.Fprintf(e.stdout, "Member %q %s.\n", name, what)
	if key == "" {
		fmt.Fprintf(e.stdout, "They sign in with a browser at https://%s/.\n", mb.gw.Domain)
		return nil
	}
	fmt.Fprintf(e.stdout, `Their API key is shown this once; it works once the appliance runs the next build.

  export OPENAI_BASE_URL=%s
  export OPENAI_API_KEY=%s

curl:
  curl %s/chat/completions \
    -H "Authorization: Bearer $OPENAI_API_KEY" -H "Content-Type: application/json" \
    -d '{"model": %s, "messages": [{"role": "user", "content": "Hello"}]}'

Python (pip install openai; OpenAI() reads the two variables above):
  from openai import OpenAI
  reply = OpenAI().chat.completions.create(model=%s, messages=[{"role": "user", "content": "Hello"}])
  print(reply.choices[0].message.content)

JavaScript (npm install openai; new OpenAI() reads the two variables above):
  import OpenAI from "openai";
  const reply = await new OpenAI().chat.completions.create({ model: %s, messages: [{ role: "user", content: "Hello" }] });
  console.log(reply.choices[0].message.content);
`, baseURL, key, baseURL, strconv.Quote(model), strconv.Quote(model), strconv.Quote(model))
	return nil
}

// memberEndpoint is the OpenAI base URL and a model a member may use: the
// first route serving one of their models (any, when they may use all).
func memberEndpoint(gw *spec.Gateway, models []string) (string, string) {
	host := gw.Domain
	if gw.HTTPSPort != 0 && gw.HTTPSPort != 443 {
		host += ":" + strconv.Itoa(gw.HTTPSPort)
	}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			if len(models) == 0 || slices.Contains(models, eng.ServedModelName) {
				return "https://" + host + strings.TrimSuffix(r.Path, "/"), eng.ServedModelName
			}
		}
	}
	return "https://" + host + "/v1", ""
}

// Package blueprints loads and evaluates sovereign blueprints: HCL files that
// describe one appliance. It owns hcl and cty; what it produces is a
// spec.Blueprint of plain typed values.
//
// Loading works in phases, as Terraform's configs do: parse every file and
// reject unknown blocks, then evaluate variables, then locals, then the blocks
// themselves. Diagnostics accumulate within a phase so that one run reports
// every problem it can find; a phase with errors stops the next one.
package lang

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Parser reads blueprint files through an afero filesystem and remembers every
// file it parsed, so that diagnostics can be printed with source snippets.
type Parser struct {
	fs      afero.Fs
	parser  *hclparse.Parser
	Engines spec.EngineKinds
}

// NewParser returns a parser reading from fsys. Engine blocks are decoded
// by what their kind in engines declares (the registry, modules/engines.Kinds,
// which loading cannot import).
func NewParser(fsys afero.Fs, engines spec.EngineKinds) *Parser {
	return &Parser{fs: fsys, parser: hclparse.NewParser(), Engines: engines}
}

// Fs is the filesystem the parser reads from; the build reads the lock file
// beside the blueprint through it.
func (p *Parser) Fs() afero.Fs { return p.fs }

// Files is the map hcl's diagnostic writer needs to show source snippets.
func (p *Parser) Files() map[string]*hcl.File { return p.parser.Files() }

// AddFile registers a file parsed elsewhere (the lock file, read by the
// images package) so that its diagnostics print with snippets too.
func (p *Parser) AddFile(f *hcl.File) {
	if f != nil {
		p.parser.AddFile(f.Body.MissingItemRange().Filename, f)
	}
}

// ParseFile reads and parses one HCL file through the parser's filesystem.
func (p *Parser) ParseFile(filename string) (*hcl.File, hcl.Diagnostics) {
	src, err := afero.ReadFile(p.fs, filename)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read file",
			Detail:   fmt.Sprintf("The file %q could not be read: %s.", filename, unwrapPathError(err)),
		}}
	}
	return p.parser.ParseHCL(src, filename)
}

// LockFileSuffix and VarFileSuffix name the .hcl files that a folder
// blueprint does not treat as part of the blueprint itself.
const (
	LockFileSuffix = ".lock.hcl"
	VarFileSuffix  = ".vars.hcl"
)

// blueprintFiles returns the files that make up the blueprint at target: the
// file itself, or every *.hcl in the folder (sorted, so that evaluation order
// and diagnostics are stable) except lock and variable files.
func (p *Parser) blueprintFiles(target string) (files []string, baseDir string, diags hcl.Diagnostics) {
	info, err := p.fs.Stat(target)
	if err != nil {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Blueprint not found",
			Detail:   fmt.Sprintf("There is no blueprint at %q: %s. Give a .hcl file or a folder of them.", target, unwrapPathError(err)),
		}}
	}
	if !info.IsDir() {
		return []string{target}, filepath.Dir(target), nil
	}
	entries, err := afero.ReadDir(p.fs, target)
	if err != nil {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failed to read blueprint folder",
			Detail:   fmt.Sprintf("The folder %q could not be read: %s.", target, unwrapPathError(err)),
		}}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, LockFileSuffix) || strings.HasSuffix(name, VarFileSuffix) || strings.HasPrefix(name, ".") {
			continue
		}
		files = append(files, filepath.Join(target, name))
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Empty blueprint folder",
			Detail:   fmt.Sprintf("The folder %q has no .hcl files (lock files %s and variable files %s do not count).", target, "*"+LockFileSuffix, "*"+VarFileSuffix),
		}}
	}
	return files, target, nil
}

// unwrapPathError drops the operation and path that *fs.PathError repeats,
// since our messages already name the file.
func unwrapPathError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// cleanRel resolves a path that a blueprint names relative to its own folder.
func CleanRel(baseDir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(baseDir, path.Clean(filepath.ToSlash(p)))
}

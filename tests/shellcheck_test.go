package tests

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/tests/peers"
)

// shebang matches the first line of a POSIX sh or bash script.
var shebang = regexp.MustCompile(`^#!\s*(/usr/bin/env\s+)?(/usr)?(/bin/)?(sh|bash|dash)(\s|$)`)

// TestShellcheck runs shellcheck over every shell script in the repository:
// each *.sh and each file that starts with an sh or bash shebang, which
// takes in .ci/run and the scripts rendered into the goldens. The sources
// that are templates (they hold {{sh ...}} actions, not shell) are checked
// through those renderings. Warnings, notes and style hints all fail it.
func TestShellcheck(t *testing.T) {
	shellcheck := peers.Tool(t, "shellcheck")
	var scripts []string
	rendered := 0
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil // symlinks (tests/tools/bin) lead out of the repository
		}
		isScript, isTemplate, err := shellScript(p)
		if err != nil || !isScript || isTemplate {
			return err
		}
		scripts = append(scripts, p)
		if strings.Contains(filepath.ToSlash(p), "testdata/golden/") {
			rendered++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) < 8 || rendered == 0 {
		t.Fatalf("found only %d shell scripts (%d rendered in the goldens): %v", len(scripts), rendered, scripts)
	}
	out, err := exec.Command(shellcheck, append([]string{"--severity=style", "--external-sources"}, scripts...)...).CombinedOutput()
	t.Logf("peer check: shellcheck %d scripts (%d rendered by sovereign)", len(scripts), rendered)
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// shellScript says whether the file at p is a shell script (by its name
// or its shebang) and whether it is a Go template of one.
func shellScript(p string) (script, template bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	first, _ := r.ReadString('\n')
	script = strings.HasSuffix(p, ".sh") || shebang.MatchString(first)
	if !script {
		return false, false, nil
	}
	data, err := os.ReadFile(p)
	return true, bytes.Contains(data, []byte("{{sh ")), err
}

package tests

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/sovereign-collective/sovereign/modules/hostos"
	"github.com/sovereign-collective/sovereign/tests/peers"
)

// TestOSContainerfile checks the host OS image of each reference blueprint
// with the programs that read it: BuildKit's Containerfile parser (the one
// docker build uses) for its syntax and shape, and shellcheck for every
// RUN step and every script the image build runs.
func TestOSContainerfile(t *testing.T) {
	shellcheck := peers.Tool(t, "shellcheck")
	for _, c := range referenceCases[:2] {
		t.Run(c.name, func(t *testing.T) {
			out, res := build(t, c)
			if res.OS == nil {
				t.Fatal("the reference blueprint has no os block")
			}
			dir := filepath.Join(out, "os")
			cf := readTree(t, dir)[hostos.ContainerfileName]
			ast, err := parser.Parse(bytes.NewReader(cf))
			if err != nil {
				t.Fatalf("BuildKit's parser rejects the Containerfile: %v\n%s", err, cf)
			}
			for _, w := range ast.Warnings {
				t.Errorf("BuildKit's parser warns: %s", w.Short)
			}
			steps := ast.AST.Children
			if len(steps) == 0 || !strings.EqualFold(steps[0].Value, "from") {
				t.Fatalf("the first instruction is not FROM:\n%s", cf)
			}
			if from := steps[0].Next.Value; !strings.Contains(from, "@sha256:") || from != res.OS.Base {
				t.Errorf("FROM %s, want the pinned base %s by digest", from, res.OS.Base)
			}
			if last := steps[len(steps)-1]; !strings.EqualFold(last.Value, "run") || last.Next.Value != "bootc container lint" {
				t.Errorf("the last step is %s %s, want RUN bootc container lint", last.Value, last.Next.Value)
			}
			var runs []string
			copied := map[string]bool{}
			for _, n := range steps {
				switch strings.ToLower(n.Value) {
				case "run":
					runs = append(runs, n.Next.Value)
				case "copy":
					for a := n.Next; a != nil && a.Next != nil; a = a.Next {
						copied[a.Value] = true
					}
				}
			}
			for name := range copied {
				if _, err := exec.LookPath(filepath.Join(dir, name)); err != nil {
					t.Errorf("COPY %s: not an executable file of the build context: %v", name, err)
				}
			}
			wantRun := []string{"/install.sh " + res.OS.Family, "/check-nvidia.sh open " + res.OS.Driver, "systemctl enable nvidia-cdi-refresh.path"}
			for _, w := range wantRun {
				if !strings.Contains(strings.Join(runs, "\n"), w) {
					t.Errorf("no RUN step runs %q:\n%s", w, cf)
				}
			}
			for i, r := range runs {
				checkShell(t, shellcheck, fmt.Sprintf("RUN step %d", i+1), "#!/bin/sh\n"+r+"\n")
			}
			for name := range copied {
				checkShell(t, shellcheck, name, string(readTree(t, dir)[name]))
			}
		})
	}
}

func checkShell(t *testing.T, shellcheck, what, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shellcheck, "-s", "sh", "-")
	cmd.Stdin = strings.NewReader(script)
	t.Logf("peer check: shellcheck %s", what)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck rejects %s: %v\n%s\n%s", what, err, out, script)
	}
}

package decode_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// fuzzSnippets are small blueprints that reach corners the reference
// blueprints do not: variables with types and validation, locals, the file
// and secret functions, a folder-relative template.
var fuzzSnippets = []string{
	``,
	`appliance "a" {}`,
	`locals { a = local.b
b = local.a }`,
	`variable "v" {
  type      = list(number)
  default   = [1]
  sensitive = true
  validation {
    condition     = length(var.v) < 3
    error_message = "Too many."
  }
}
locals { n = length(var.v) }
`,
	`appliance "coop" {
  hardware = "gb10"
  hostname = lower("Coop")
  admin "ops" { ssh_authorized_keys = [file("keys/admin.pub")] }
  storage {
    state  = "/var/lib/x"
    device = "/dev/disk/by-id/nvme-x"
  }
}
model "m" {
  catalog  = "qwen3-30b-a3b"
  weights  = "fp8"
  revision = sha256("x")
}
engine "vllm" "e" {
  model          = model.m
  image          = "quay.io/a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  api_key        = secret_file("secret")
  environment    = { A = base64encode(templatefile("t.tpl", { name = "x" })) }
  extra_args     = [jsonencode({ a = 1 })]
  cpu_kv_offload = "1.5TiB"
  start_timeout  = "1h"
}
`,
	`engine "vllm" "x" { model = "m" }`,
	`model "m" { config = file("config.json") 
weights = "bf16" }`,
}

// FuzzLoad feeds arbitrary bytes to the loader as bp.hcl, beside the files a
// blueprint may read. Whatever the input, Load must not panic, must return a
// blueprint or errors (never neither, never both), and must point every
// error at a place the diagnostic printer can show. A blueprint that loads
// must then build without panicking.
//
//	go test -run '^$' -fuzz FuzzLoad -fuzztime 60s ./blueprints/decode/
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"../dgx-station-gb300.hcl", "../cloud-audition-h100.hcl"} {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, "")
	}
	for _, s := range fuzzSnippets {
		f.Add([]byte(s), "[1, 2]")
	}
	// The bad-input corpus holds one of every mistake the loader reports.
	cases, _ := filepath.Glob(filepath.Join("..", "..", "tests", "testdata", "errors", "*.hcl"))
	for _, name := range cases {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, "")
	}
	key, err := os.ReadFile(filepath.Join("..", "keys", "admin.pub"))
	if err != nil {
		f.Fatal(err)
	}
	helpers := map[string]string{
		"keys/admin.pub": string(key),
		"secret":         "s3cret\n",
		"t.tpl":          "hello ${name}",
		"config.json":    `{"model_type": "qwen3", "num_hidden_layers": 2}`,
	}

	f.Fuzz(func(t *testing.T, src []byte, envValue string) {
		fsys := testFs(t, helpers)
		if err := afero.WriteFile(fsys, "bp.hcl", src, 0o644); err != nil {
			t.Fatal(err)
		}
		in := lang.Inputs{Env: []string{"SOVEREIGN_VAR_v=" + envValue, "SOVEREIGN_VAR_hostname=" + envValue, "SECRET=s3cret"}}
		p := decode.NewLoader(fsys, engines.Kinds)
		bp, diags := load(t, p, in)
		switch {
		case bp == nil && !diags.HasErrors():
			t.Fatalf("Load returned neither a blueprint nor an error (%d diagnostics)", len(diags))
		case bp != nil && diags.HasErrors():
			t.Fatalf("Load returned a blueprint along with errors:\n%s", formatDiags(p, diags))
		}
		checkSubjects(t, fsys, p, diags)
		// Printing is part of reporting: the CLI's writer must cope with
		// every range the loader produced.
		if err := hcl.NewDiagnosticTextWriter(io.Discard, p.Files(), 100, false).WriteDiagnostics(diags); err != nil {
			t.Fatal(err)
		}
		if bp == nil {
			return
		}
		p = decode.NewLoader(fsys, engines.Kinds)
		res, diags := build(t, p, in)
		if res == nil && !diags.HasErrors() {
			t.Fatalf("pipeline.Build returned neither a result nor an error")
		}
		checkSubjects(t, fsys, p, diags)
	})
}

// checkSubjects checks that every error points inside a file that exists,
// within its bytes, so that the printer can show the offending line.
func checkSubjects(t *testing.T, fsys afero.Fs, p *decode.Loader, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		s := d.Subject
		if s.Filename != "bp.hcl" {
			if _, err := fsys.Stat(s.Filename); err != nil {
				t.Errorf("error %q points into %q, which does not exist", d.Summary, s.Filename)
				continue
			}
		}
		f, ok := p.Files()[s.Filename]
		if !ok {
			continue // a file read by a function, not parsed: no snippet
		}
		if s.Start.Byte < 0 || s.Start.Byte > s.End.Byte || s.End.Byte > len(f.Bytes) || s.Start.Line < 1 || s.Start.Column < 1 {
			t.Errorf("error %q has range %s (bytes %d-%d) outside its file of %d bytes", d.Summary, s, s.Start.Byte, s.End.Byte, len(f.Bytes))
		}
	}
}

// load and build turn a panic into a failure that shows the input's effect.
func load(t *testing.T, p *decode.Loader, in lang.Inputs) (*spec.Blueprint, hcl.Diagnostics) {
	t.Helper()
	defer failOnPanic(t, "Load")
	return p.Load("bp.hcl", in)
}

func build(t *testing.T, p *decode.Loader, in lang.Inputs) (*pipeline.Result, hcl.Diagnostics) {
	t.Helper()
	defer failOnPanic(t, "pipeline.Build")
	return pipeline.Build(p, "bp.hcl", in)
}

func failOnPanic(t *testing.T, what string) {
	if r := recover(); r != nil {
		t.Fatalf("%s panicked: %v\n%s", what, r, debug.Stack())
	}
}

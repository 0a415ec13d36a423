package tests

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/capacity"
	"github.com/sovereign-collective/sovereign/modules/engineflags"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/units"
)

// TestEngineExecFlagsExistInPinnedRelease renders every reference and test
// blueprint and reads each engine unit's Exec= line back, word by word as
// systemd does, then checks every flag and value against the flag table of
// the release the unit's image is pinned to. It is independent of the check
// the build itself runs: it reads what was written, not what was meant.
func TestEngineExecFlagsExistInPinnedRelease(t *testing.T) {
	checked := map[string]bool{}
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			_, res := build(t, c)
			for _, u := range res.Tree.Units {
				kind, _, _ := strings.Cut(u.Name, "-")
				if (kind != "vllm" && kind != "sglang") || u.Image == nil {
					continue
				}
				execs := u.Get("Container", "Exec")
				if len(execs) != 1 {
					t.Fatalf("%s: %d Exec= lines", u.Name, len(execs))
				}
				words := systemdWords(t, execs[0])
				if kind == "sglang" {
					if len(words) < 2 || words[0] != "-m" || words[1] != "sglang.launch_server" {
						t.Fatalf("%s: Exec= does not start the SGLang server: %q", u.Name, words)
					}
					words = words[2:]
				}
				release, err := engineflags.ForImage(kind, u.Image.Ref)
				if err != nil {
					t.Errorf("%s: %v", u.Name, err)
					continue
				}
				args, problems := release.Split(words)
				problems = append(problems, release.Check(args)...)
				for _, p := range problems {
					if p.Warning && p.Summary == "Value not checked" {
						// A value whose accepted set the table could not
						// record; TestParserValueUncheckedWarnsAtItsLine
						// proves the build warns about it.
						continue
					}
					t.Errorf("%s (%s): %s at %q", u.Name, release, p.Error(), words[p.Index])
				}
				if len(args) < 5 {
					t.Errorf("%s: only %d options read from %q", u.Name, len(args), execs[0])
				}
				checked[release.String()] = true
			}
		})
	}
	for _, r := range []string{"vLLM v0.14.0", "vLLM v0.11.0", "SGLang v0.5.9"} {
		if !checked[r] {
			t.Errorf("no engine unit ran %s; the test checked %v", r, checked)
		}
	}
}

// TestEngineExecCarriesThePlansTuning: the concurrency and batch budget
// `sovereign plan` prints for each engine, derived or given, are the ones
// its Exec= line starts the engine with, each given once.
func TestEngineExecCarriesThePlansTuning(t *testing.T) {
	sources := map[string]int{}
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			_, res := build(t, c)
			for _, ep := range res.Plans {
				eng := engineNamed(res, ep.Engine)
				seqsFlag, tokensFlag := "--max-num-seqs", "--max-num-batched-tokens"
				switch eng.Kind {
				case "sglang":
					seqsFlag, tokensFlag = "--max-running-requests", ""
				case "nim":
					continue
				}
				u := unitNamed(res, eng.Kind+"-"+eng.Name+".container")
				if u == nil {
					t.Fatalf("engine %q has no unit", eng.Name)
				}
				words := systemdWords(t, u.Get("Container", "Exec")[0])
				if eng.Kind == "sglang" {
					words = words[2:]
				}
				release, err := engineflags.ForImage(eng.Kind, eng.Image.Ref)
				if err != nil {
					t.Fatal(err)
				}
				args, _ := release.Split(words)
				tu := ep.Plan.Tuning
				for _, f := range []struct {
					flag   string
					want   int
					source string
				}{{seqsFlag, tu.MaxNumSeqs, tu.MaxNumSeqsSource}, {tokensFlag, tu.MaxNumBatchedTokens, tu.MaxNumBatchedTokensSource}} {
					if f.flag == "" {
						continue
					}
					var got []string
					for _, a := range args {
						if a.LongName() == f.flag {
							got = append(got, strings.Join(a.Values, " "))
						}
					}
					if len(got) != 1 || got[0] != strconv.Itoa(f.want) {
						t.Errorf("engine %q: the plan says %s %d (%s), Exec= gives %q", eng.Name, f.flag, f.want, f.source, got)
					}
					sources[f.source]++
				}
			}
		})
	}
	if sources[capacity.TuningDerived] == 0 || sources[capacity.TuningGiven] == 0 {
		t.Errorf("tuning sources seen %v: want both derived and given values checked", sources)
	}
}

func engineNamed(res *pipeline.Result, name string) *spec.Engine {
	for _, e := range res.Blueprint.Engines {
		if e.Name == name {
			return e
		}
	}
	return nil
}

func unitNamed(res *pipeline.Result, name string) *units.Unit {
	for _, u := range res.Tree.Units {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// systemdWords splits a unit's command line as systemd does for the cases
// units.QuoteCommand writes: words separated by spaces, double-quoted words
// with backslash escapes, %% for %, $$ for $, and ${VAR} left as written.
func systemdWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '"':
			quoted = false
		case quoted && ch == '\\' && i+1 < len(line):
			i++
			switch line[i] {
			case 't':
				cur.WriteByte('\t')
			case 'n':
				cur.WriteByte('\n')
			default:
				cur.WriteByte(line[i])
			}
		case !quoted && ch == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		case !quoted && ch == '"':
			quoted = true
		case (ch == '%' || ch == '$') && i+1 < len(line) && line[i+1] == ch:
			cur.WriteByte(ch)
			i++
		default:
			cur.WriteByte(ch)
		}
		inWord = true
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestNIMExtraArgsUnchecked: a NIM engine's extra_args reach the vLLM
// inside the image unchecked, since the image tag names the NIM release
// and not that vLLM's; the build says so at the first item, and still
// writes the unit.
func TestNIMExtraArgsUnchecked(t *testing.T) {
	const blueprint = `
appliance "coop" {
  hardware = "h100-80gb-sxm"
  hostname = "coop"
  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "small" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "nim" "ops" {
  model                  = model.small
  # TEST FIXTURE: an all-zero digest, not a real image.
  image                  = "nvcr.io/nim/nvidia/llm-nim:2.0.2@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  gpu_memory_utilization = 0.9
  max_model_len          = 8192
  extra_args             = ["--max-num-seqs", "16"]
}
`
	build := func(text string) (*pipeline.Result, hcl.Diagnostics) {
		fs := afero.NewMemMapFs()
		_ = afero.WriteFile(fs, "/nim/main.hcl", []byte(text), 0o644)
		return pipeline.Build(decode.NewLoader(fs, engines.Kinds), "/nim", lang.Inputs{})
	}
	res, diags := build(blueprint)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var found []*hcl.Diagnostic
	for _, d := range diags {
		if d.Summary == "Engine flags not checked" {
			found = append(found, d)
		}
	}
	if len(found) != 1 || found[0].Subject == nil || found[0].Subject.Start.Line != 21 ||
		!strings.Contains(found[0].Detail, `extra_args (--max-num-seqs 16)`) || !strings.Contains(found[0].Detail, "release notes for the NIM release say which vLLM it runs") {
		t.Fatalf("warnings = %v", found)
	}
	if u := unitNamed(res, "nim-ops.container"); u == nil || !strings.Contains(strings.Join(u.Get("Container", "Environment"), " "), "--max-num-seqs 16") {
		t.Errorf("the NIM unit does not pass the extra_args on")
	}

	_, diags = build(strings.Replace(blueprint, `  extra_args             = ["--max-num-seqs", "16"]`+"\n", "", 1))
	for _, d := range diags {
		if d.Summary == "Engine flags not checked" {
			t.Errorf("a NIM without extra_args is warned: %s", d.Detail)
		}
	}
}

// TestParserValueUncheckedWarnsAtItsLine: a parser name the pinned
// release's table could not record is a warning at the blueprint setting
// that gives it, naming the release, and the build still succeeds.
func TestParserValueUncheckedWarnsAtItsLine(t *testing.T) {
	const blueprint = `
appliance "coop" {
  hardware = "h100-80gb-sxm"
  hostname = "coop"
  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "small" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "chat" {
  model                  = model.small
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  gpu_memory_utilization = 0.9
  max_model_len          = 8192
  tool_call_parser       = "hermes"
  reasoning_parser       = "qwen3"
}
`
	fs := afero.NewMemMapFs()
	_ = afero.WriteFile(fs, "/parsers/main.hcl", []byte(blueprint), 0o644)
	_, diags := pipeline.Build(decode.NewLoader(fs, engines.Kinds), "/parsers", lang.Inputs{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	at := map[int]*hcl.Diagnostic{}
	for _, d := range diags {
		if d.Summary == "Value not checked" && d.Severity == hcl.DiagWarning && d.Subject != nil {
			at[d.Subject.Start.Line] = d
		}
	}
	for line, want := range map[int]string{20: `vLLM v0.14.0's --tool-call-parser is given "hermes"`, 21: `vLLM v0.14.0's --reasoning-parser is given "qwen3"`} {
		d := at[line]
		if d == nil || d.Subject.Filename != "/parsers/main.hcl" || d.Subject.Start.Column != 28 || !strings.Contains(d.Detail, want) {
			t.Errorf("line %d: warning %+v, want one at /parsers/main.hcl:%d:28 (the value) saying %s", line, d, line, want)
		}
	}
	if len(at) != 2 {
		t.Errorf("%d located warnings, want 2: %v", len(at), at)
	}
}

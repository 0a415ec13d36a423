package engineflags

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// Arg is one option on an engine's command line: its flag as written and
// the values that follow it.
type Arg struct {
	Flag string
	// Name is the option's long name when Flag is another spelling of it
	// (a short alias, vLLM's underscores); empty when Flag is the name.
	Name   string
	Values []string
	// Index is where the flag stood in the words it was read from, so that
	// a caller can point at the blueprint line it came from.
	Index int
}

// Problem is something wrong with one Arg for a release.
type Problem struct {
	// Index is the Arg's Index.
	Index   int
	Warning bool
	Summary string
	Detail  string
	// Repeats, for a setting given twice, is the Index of the earlier Arg
	// that set it; -1 otherwise.
	Repeats int
}

func (p Problem) Error() string { return p.Summary + ": " + p.Detail }

// LongName is the option's long name: Name, or Flag when that is it.
func (a Arg) LongName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Flag
}

// number is a value that starts with a dash but is not a flag: -1, -0.5.
var number = regexp.MustCompile(`^-\d`)

// Split reads words as the release's parser would: a flag, then the values
// up to the next flag (--flag=value is one word). A word where a flag
// should be, or a switch given a value, is a Problem.
func (r *Release) Split(words []string) ([]Arg, []Problem) {
	var args []Arg
	var problems []Problem
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || number.MatchString(w) {
			problems = append(problems, Problem{Index: i, Repeats: -1, Summary: "Not a flag",
				Detail: fmt.Sprintf("%q is not a flag of %s; values follow the flag they belong to (%s takes no positional arguments here).", w, r, r.Program)})
			continue
		}
		a := Arg{Flag: w, Index: i}
		if name, value, ok := strings.Cut(w, "="); ok && strings.HasPrefix(w, "--") {
			a.Flag, a.Values = name, []string{value}
		}
		f, canonical, ok := r.resolve(a.Flag)
		if ok && canonical != a.Flag {
			a.Name = canonical
		}
		if ok && f.Value == ValueNone {
			args = append(args, a)
			continue
		}
		if a.Values == nil {
			for i+1 < len(words) && (!strings.HasPrefix(words[i+1], "-") || number.MatchString(words[i+1])) {
				a.Values = append(a.Values, words[i+1])
				i++
			}
		}
		args = append(args, a)
	}
	return args, problems
}

// resolve finds the option a written flag stands for: its long name, a
// short alias, or one of vLLM's own spellings (underscores for dashes, a
// dotted key into a JSON-valued flag).
func (r *Release) resolve(written string) (f Flag, canonical string, ok bool) {
	if f, ok := r.Flags[written]; ok {
		return f, written, true
	}
	if long, ok := r.Aliases[written]; ok {
		return r.Flags[long], long, true
	}
	if r.Engine == "vllm" && strings.HasPrefix(written, "--") {
		// FlexibleArgumentParser turns --max_model_len into --max-model-len
		// and accepts --compilation-config.mode for one key of a JSON flag.
		base, _, dotted := strings.Cut(written, ".")
		base = "--" + strings.ReplaceAll(base[2:], "_", "-")
		if f, ok := r.Flags[base]; ok {
			if dotted {
				f.Value, f.Choices, f.DeprecatedChoices = ValueRequired, nil, nil
			}
			return f, base, true
		}
	}
	return Flag{}, "", false
}

// Check checks a command line's options against the release: each flag
// must exist, take a value exactly when it should, and have a value the
// release accepts. A deprecated flag, an abbreviated one, a setting given
// twice and a value whose accepted set the table could not record are
// warnings.
func (r *Release) Check(args []Arg) []Problem {
	var problems []Problem
	seen := map[string]Arg{}
	hasFlag := func(name string) bool {
		return slices.ContainsFunc(args, func(a Arg) bool { _, c, _ := r.resolve(a.Flag); return c == name })
	}
	for _, a := range args {
		bad := func(warning bool, summary, format string, v ...any) {
			problems = append(problems, Problem{Index: a.Index, Warning: warning, Summary: summary, Detail: fmt.Sprintf(format, v...), Repeats: -1})
		}
		f, _, ok := r.resolve(a.Flag)
		if !ok {
			if long := r.abbreviates(a.Flag); long != "" {
				bad(true, "Abbreviated flag", "%s reads %s as %s, but only until a later release adds another flag starting the same way; write %s.", r, a.Flag, long, long)
				continue
			}
			hint := r.replacement(a.Flag)
			if hint == "" {
				hint = r.suggest(a.Flag)
			}
			bad(false, "Flag not in this engine release", "%s has no flag %s.%s", r, a.Flag, hint)
			continue
		}
		switch {
		case f.Value == ValueNone && len(a.Values) > 0:
			bad(false, "Flag takes no value", "%s's %s is a switch and takes no value, but is given %q.", r, a.Flag, strings.Join(a.Values, " "))
			continue
		case f.Value == ValueRequired && len(a.Values) == 0:
			bad(false, "Flag needs a value", "%s's %s needs a value.", r, a.Flag)
			continue
		}
		if len(f.Choices) > 0 && (f.ChoicesExtendedBy == "" || !hasFlag(f.ChoicesExtendedBy)) {
			for _, v := range a.Values {
				switch {
				case !slices.Contains(f.Choices, v):
					by := ""
					if f.ChoicesCheckedBy != "" {
						by = fmt.Sprintf(" (its parser takes any string; %s refuses others at start-up)", f.ChoicesCheckedBy)
					}
					bad(false, "Value not accepted by this engine release", "%s's %s accepts %s, not %q%s.%s", r, a.Flag, strings.Join(f.Choices, ", "), v, by, lang.SuggestBare(v, f.Choices))
				case slices.Contains(f.DeprecatedChoices, v) && !hasFlag("--allow-deprecated-quantization"):
					bad(false, "Deprecated value refused by this engine release", "%s deprecates %s %s and refuses it unless --allow-deprecated-quantization is given too.", r, a.Flag, v)
				}
			}
		}
		if f.ChoicesUnchecked != "" && len(a.Values) > 0 {
			bad(true, "Value not checked", "%s's %s is given %q, which sovereign cannot check against this release: %s Make sure the release accepts it before the first boot.", r, a.Flag, strings.Join(a.Values, " "), f.ChoicesUnchecked)
		}
		if f.Deprecated {
			bad(true, "Deprecated flag", "%s deprecates %s: it still parses, but a later release may remove it.", r, a.Flag)
		}
		if first, twice := seen[f.Dest]; twice {
			if first.Flag == a.Flag {
				bad(true, "Setting given twice", "%s is given twice; %s takes the last one.", a.Flag, r)
			} else {
				bad(true, "Setting given twice", "%s and %s set the same thing (%s); %s takes the last one.", first.Flag, a.Flag, f.Dest, r)
			}
			problems[len(problems)-1].Repeats = first.Index
		}
		seen[f.Dest] = a
	}
	return problems
}

// replacedFlags says, per engine, what a flag that one release has and
// another lacks became, for the releases that lack it. Each entry cites
// the upstream change.
var replacedFlags = map[string]map[string]string{
	"vllm": {
		// vLLM PR #26016 ("cudagraph_capture_sizes related improvements",
		// after v0.11.0) deprecated --cuda-graph-sizes for the compilation
		// config's --cudagraph-capture-sizes (the full list) and added
		// --max-cudagraph-capture-size (one size; vLLM fills in the rest);
		// v0.14.0's parser no longer has it.
		"--cuda-graph-sizes":           "--cudagraph-capture-sizes (a list of batch sizes) or --max-cudagraph-capture-size (the largest, vLLM picks the sizes below it)",
		"--cudagraph-capture-sizes":    "--cuda-graph-sizes, which this release uses for the CUDA graph batch sizes (one value N: 1, 2, 4 and multiples of 8 up to N)",
		"--max-cudagraph-capture-size": "--cuda-graph-sizes with one value, which this release uses for the largest CUDA graph batch size",
	},
}

// replacement explains what takes the place of a flag the release lacks,
// when the release has the replacement.
func (r *Release) replacement(written string) string {
	hint, ok := replacedFlags[r.Engine][written]
	if !ok {
		return ""
	}
	replacement, _, _ := strings.Cut(hint, " ")
	if _, ok := r.Flags[strings.TrimSuffix(replacement, ",")]; !ok {
		return ""
	}
	return fmt.Sprintf(" Its replacement here is %s.", hint)
}

// abbreviates is the one long flag that written is a prefix of, as
// argparse's allow_abbrev accepts it, or "".
func (r *Release) abbreviates(written string) string {
	if !strings.HasPrefix(written, "--") || len(written) < 4 {
		return ""
	}
	var match string
	for name := range r.Flags {
		if strings.HasPrefix(name, written) {
			if match != "" {
				return ""
			}
			match = name
		}
	}
	return match
}

func (r *Release) suggest(written string) string {
	names := make([]string, 0, len(r.Flags))
	for n := range r.Flags {
		names = append(names, n)
	}
	slices.Sort(names)
	return lang.SuggestBare(written, names)
}

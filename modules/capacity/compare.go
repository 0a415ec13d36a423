package capacity

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engineflags"
)

// Side is one blueprint of a comparison, with its plans.
type Side struct {
	Label     string
	Blueprint *spec.Blueprint
	Plans     []EnginePlan
}

// ParityWarnings lists what differs between an audition and its target in
// ways that make the audition test something else than what will run: the
// engine kind or release, the KV cache type, the context length, the tool
// and reasoning parsers (an audition is there to try the real workloads on
// the stack that will serve them). Model size, weights and hardware are
// expected to differ and are not warned about.
func ParityWarnings(a, b *spec.Blueprint) []string {
	var out []string
	ea, eb := enginesByName(a), enginesByName(b)
	for _, name := range unionKeys(ea, eb) {
		x, y := ea[name], eb[name]
		switch {
		case x == nil:
			out = append(out, fmt.Sprintf("engine %q is only in the second blueprint", name))
			continue
		case y == nil:
			out = append(out, fmt.Sprintf("engine %q is only in the first blueprint", name))
			continue
		}
		differs := func(what, u, v string) {
			if u != v {
				out = append(out, fmt.Sprintf("engine %q: %s differs: %s vs %s", name, what, orNone(u), orNone(v)))
			}
		}
		differs("engine kind", x.Kind, y.Kind)
		differs("image", imageName(x.Image.Ref), imageName(y.Image.Ref))
		differs("KV cache dtype", x.KVCacheDType, y.KVCacheDType)
		differs("max context length", fmt.Sprint(x.MaxModelLen), fmt.Sprint(y.MaxModelLen))
		differs("tool-call parser", x.ToolCallParser, y.ToolCallParser)
		differs("reasoning parser", x.ReasoningParser, y.ReasoningParser)
		differs("served model name", x.ServedModelName, y.ServedModelName)
	}
	return out
}

// WriteComparison prints two blueprints' plans side by side: what differs
// between an audition and the machine it auditions for (arch, memory,
// sessions, speed), then the parity warnings.
func WriteComparison(w io.Writer, a, b Side) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, x, y string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", label, x, y) }
	ha, hb := a.Blueprint.Appliance.Hardware, b.Blueprint.Appliance.Hardware
	row("", a.Label, b.Label)
	row("hardware", ha.Name, hb.Name)
	row("platform", ha.Platform(), hb.Platform())
	row("GPU memory", gpuMemory(ha), gpuMemory(hb))
	pa, pb := plansByName(a.Plans), plansByName(b.Plans)
	ea, eb := enginesByName(a.Blueprint), enginesByName(b.Blueprint)
	for _, name := range unionKeys(ea, eb) {
		row("engine "+name, engineSummary(ea[name]), engineSummary(eb[name]))
		x, y := pa[name], pb[name]
		cell := func(p *Plan, f func(*Plan) string) string {
			if p == nil {
				return "-"
			}
			return f(p)
		}
		row("  weights", cell(x, func(p *Plan) string { return humanBytes(p.WeightsBytes) }), cell(y, func(p *Plan) string { return humanBytes(p.WeightsBytes) }))
		row("  KV cache", cell(x, func(p *Plan) string { return humanBytes(p.KVBudgetBytes) }), cell(y, func(p *Plan) string { return humanBytes(p.KVBudgetBytes) }))
		sessions := func(p *Plan) string {
			return fmt.Sprintf("%d at %s tokens", p.SessionsAtMaxModelLen(), humanCount(int64(p.MaxModelLen)))
		}
		row("  sessions", cell(x, sessions), cell(y, sessions))
		speed := func(p *Plan) string { return fmt.Sprintf("%.0f tokens/s", p.DecodeTokensPerSCeiling) }
		row("  decode ceiling", cell(x, speed), cell(y, speed))
		fits := func(p *Plan) string { return fmt.Sprint(p.Fits) }
		row("  fits", cell(x, fits), cell(y, fits))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	warnings := append(ParityWarnings(a.Blueprint, b.Blueprint), SpeedParityWarnings(a, b)...)
	if len(warnings) == 0 {
		_, err := fmt.Fprintln(w, "\nParity: the engines run the same release with the same KV cache, context length and parsers.")
		return err
	}
	fmt.Fprintln(w, "\nParity warnings (the audition would not test what will run):")
	for _, s := range warnings {
		fmt.Fprintf(w, "  - %s\n", s)
	}
	return nil
}

// gpuMemory is the vendor's figure and what CUDA reports, which is what
// the plan computes with.
func gpuMemory(h catalog.Hardware) string {
	measured := "measured"
	if !h.GPUMemoryMeasured {
		measured = "unmeasured"
	}
	return fmt.Sprintf("%d × %s (%s to CUDA, %s)", max(h.GPUs, 1), humanBytes(h.GPUMemoryNominalBytes), humanBytes(h.GPUMemoryBytes), measured)
}

func engineSummary(e *spec.Engine) string {
	if e == nil {
		return "-"
	}
	return fmt.Sprintf("%s, %s (%s)", e.Kind, e.Model.Architecture.Name, e.Model.Weights)
}

// imageName is a reference without its digest: the release people compare.
func imageName(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	return name
}

func orNone(s string) string {
	if s == "" || s == "0" {
		return "(none)"
	}
	return s
}

func enginesByName(bp *spec.Blueprint) map[string]*spec.Engine {
	m := map[string]*spec.Engine{}
	for _, e := range bp.Engines {
		m[e.Name] = e
	}
	return m
}

func plansByName(ps []EnginePlan) map[string]*Plan {
	m := map[string]*Plan{}
	for _, p := range ps {
		m[p.Engine] = p.Plan
	}
	return m
}

func unionKeys(a, b map[string]*spec.Engine) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SpeedParityWarnings lists where an audition's engine would run at
// another speed than its target's for reasons other than the hardware and
// the model: a speed-relevant flag in extra_args (kernels, CUDA graphs,
// batching, caching, parallelism), a speed rule that fires on one side
// only, the same weights read with another quantization method, or
// another batch budget. The audition would then measure a different
// engine.
func SpeedParityWarnings(a, b Side) []string {
	var out []string
	ea, eb := enginesByName(a.Blueprint), enginesByName(b.Blueprint)
	pa, pb := plansByName(a.Plans), plansByName(b.Plans)
	for _, name := range unionKeys(ea, eb) {
		x, y := ea[name], eb[name]
		if x == nil || y == nil || x.Kind != y.Kind {
			continue
		}
		warn := func(format string, args ...any) {
			out = append(out, fmt.Sprintf("engine %q: ", name)+fmt.Sprintf(format, args...))
		}
		if x.Model != nil && y.Model != nil && x.Model.Weights == y.Model.Weights && x.Quantization != y.Quantization {
			warn("quantization differs for the same %s weights: %s vs %s; they run different kernels", x.Model.Weights, orNone(x.Quantization), orNone(y.Quantization))
		}
		lx, ly := launchOf(x), launchOf(y)
		fx, fy := speedFlagValues(lx), speedFlagValues(ly)
		for _, flag := range unionStrings(fx, fy) {
			if fx[flag] != fy[flag] {
				warn("speed-relevant flag %s differs: %s vs %s", flag, orNone(fx[flag]), orNone(fy[flag]))
			}
		}
		rx, ry := rulesFired(lx), rulesFired(ly)
		for _, rule := range unionStrings(rx, ry) {
			switch {
			case rx[rule] == "":
				warn("only the second blueprint's engine has this speed trap, so the first cannot show its cost: %s", ry[rule])
			case ry[rule] == "":
				warn("only the first blueprint's engine has this speed trap, so the second will not run as measured: %s", rx[rule])
			}
		}
		if p, q := pa[name], pb[name]; p != nil && q != nil && p.Tuning.MaxNumBatchedTokens != q.Tuning.MaxNumBatchedTokens {
			warn("max_num_batched_tokens differs: %d vs %d; set it in the blueprint to schedule prefill alike", p.Tuning.MaxNumBatchedTokens, q.Tuning.MaxNumBatchedTokens)
		}
	}
	return out
}

// launchOf is an engine's launch as far as the blueprint says it beyond
// the common settings: its quantization setting and its extra_args, read
// with its release's table where sovereign has one.
func launchOf(e *spec.Engine) engineflags.Launch {
	r, err := engineflags.ForImage(e.Kind, e.Image.Ref)
	if err != nil {
		r = &engineflags.Release{Engine: e.Kind}
	}
	var words []string
	if e.Quantization != "" {
		words = append(words, "--quantization", e.Quantization)
	}
	args, _ := r.Split(append(words, e.ExtraArgs...))
	weights := ""
	if e.Model != nil {
		weights = e.Model.Weights
	}
	return engineflags.Launch{Engine: e.Kind, Weights: weights, Args: args}
}

// speedFlagValues maps each speed-relevant option of a launch to its last
// value ("on" for a switch); a --no- twin is its switch set to "off".
func speedFlagValues(l engineflags.Launch) map[string]string {
	m := map[string]string{}
	for _, a := range l.Args {
		name := a.LongName()
		// The quantization method follows the weights, which may differ;
		// SpeedParityWarnings compares it for equal weights only. The
		// batch budget is compared as the plans have it, wherever the
		// blueprint gave it.
		if name == "--quantization" || name == "--max-num-batched-tokens" || !engineflags.SpeedRelevant(l.Engine, name) {
			continue
		}
		v := strings.Join(a.Values, " ")
		if rest, ok := strings.CutPrefix(name, "--no-"); ok && v == "" {
			name, v = "--"+rest, "off"
		} else if v == "" {
			v = "on"
		}
		m[name] = v
	}
	return m
}

func rulesFired(l engineflags.Launch) map[string]string {
	m := map[string]string{}
	for _, f := range engineflags.SpeedFindings(l) {
		m[f.Rule] = f.Summary + ": " + f.Detail
	}
	return m
}

func unionStrings(a, b map[string]string) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

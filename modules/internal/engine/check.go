package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engineflags"
)

// CheckOptions checks the options an engine's kind renders against the
// flag table of the release its image is pinned to, and runs the speed
// rules on them. A flag the release lacks or a value it refuses is an
// error at the blueprint place the option came from, naming the release;
// a slow choice is a warning that explains its cost; an image whose
// release sovereign has no table for is a warning at the image that names
// the releases it knows.
func CheckOptions(eng *spec.Engine, k *Kind, opts []Option) hcl.Diagnostics {
	if k.FlagTables == "" {
		return nil
	}
	release, err := engineflags.ForImage(k.FlagTables, eng.Image.Ref)
	if err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Engine flags not checked",
			Detail:   fmt.Sprintf("Engine %q: %s. Pin an image tagged with a known release to have its command line checked before the appliance boots.", eng.Name, err),
			Subject:  eng.Image.Range.Ptr(),
		}}
	}
	// from[i] is the option word i of the command line came from.
	var words []string
	var from []Option
	for _, o := range opts {
		for _, w := range o.Words {
			words = append(words, w)
			from = append(from, o)
		}
	}
	args, problems := release.Split(words)
	problems = append(problems, release.Check(args)...)
	var diags hcl.Diagnostics
	for _, p := range problems {
		if p.Repeats >= 0 {
			switch earlier, later := from[p.Repeats], from[p.Index]; {
			case earlier.ExtraArg == 0 && later.ExtraArg > 0:
				diags = append(diags, overridden(eng, k, release, earlier, later, argAt(args, p.Index)))
				continue
			case earlier.ExtraArg > 0 && later.ExtraArg == 0:
				// sovereign's option comes last (the API key flag) and wins.
				diags = append(diags, located(eng, earlier, true, "Option ignored", fmt.Sprintf("sovereign passes %q after extra_args, and %s takes the last value, so this item has no effect and can go.", strings.Join(later.Words, " "), release)))
				continue
			}
		}
		diags = append(diags, located(eng, from[p.Index], p.Warning, p.Summary, p.Detail))
	}
	weights := ""
	if eng.Model != nil {
		weights = eng.Model.Weights
	}
	for _, f := range engineflags.SpeedFindings(engineflags.Launch{Engine: k.FlagTables, Weights: weights, Args: args, Release: release}) {
		diags = append(diags, located(eng, from[f.Index], f.Warning, f.Summary, f.Detail))
	}
	return diags
}

// overridden is what an extra_args item that sets what sovereign already
// renders gets. The engine takes the last value, the item's, while the
// capacity plan, the speed checks, the gateway and the health check were
// built from sovereign's: a different value is an error, the same one a
// warning that the item is redundant.
func overridden(eng *spec.Engine, k *Kind, release fmt.Stringer, rendered, item Option, given engineflags.Arg) *hcl.Diagnostic {
	passed := strings.Join(rendered.Words, " ")
	if slices.Equal(append([]string{given.Flag}, given.Values...), rendered.Words) {
		return located(eng, item, true, "Option already set", fmt.Sprintf("sovereign already passes %q; this item repeats it and can go.", passed))
	}
	from, fix := "itself", "Remove the item."
	if rendered.Setting != "" {
		name := rendered.Setting
		if spelled, ok := k.Settings[spec.Setting(name)]; ok {
			name = spelled
		}
		from, fix = fmt.Sprintf("from the engine's %s setting", name), fmt.Sprintf("Set %s in the engine block instead.", name)
	}
	return located(eng, item, false, "Option set by sovereign", fmt.Sprintf("sovereign passes %q %s; %s would take this item's value instead, so what runs would not be what sovereign planned, checked and wired the gateway to. %s", passed, from, release, fix))
}

// argAt is the option of args that starts at word index, as Split read it
// (its flag and the values that follow).
func argAt(args []engineflags.Arg, index int) engineflags.Arg {
	i := slices.IndexFunc(args, func(a engineflags.Arg) bool { return a.Index == index })
	return args[i]
}

// uncheckedExtraArgs warns, at the first extra_args item, that a kind
// without flag tables passes them on unchecked, and why.
func uncheckedExtraArgs(eng *spec.Engine, k *Kind) hcl.Diagnostics {
	if k.FlagTables != "" || k.UncheckedFlags == "" || len(eng.ExtraArgs) == 0 {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagWarning,
		Summary:  "Engine flags not checked",
		Detail:   fmt.Sprintf("Engine %q: its extra_args (%s) are not checked against a flag table: %s", eng.Name, strings.Join(eng.ExtraArgs, " "), k.UncheckedFlags),
		Subject:  eng.RangeOfExtraArg(0).Ptr(),
	}}
}

// located is a diagnostic at the blueprint place of option o.
func located(eng *spec.Engine, o Option, warning bool, summary, detail string) *hcl.Diagnostic {
	severity := hcl.DiagError
	if warning {
		severity = hcl.DiagWarning
	}
	where := ""
	if o.ExtraArg > 0 {
		where = fmt.Sprintf("extra_args item %d (%q): ", o.ExtraArg, o.Words[0])
	}
	return &hcl.Diagnostic{
		Severity: severity,
		Summary:  summary,
		Detail:   fmt.Sprintf("Engine %q: %s%s", eng.Name, where, detail),
		Subject:  o.From.Ptr(),
	}
}

package engine

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Kind is one engine kind: what the loader and the planner read
// (spec.EngineKind) and how its container runs. Each kind is a package
// below modules/engines; the registry there lists them.
type Kind struct {
	spec.EngineKind
	// HealthPath answers 200 once the model is loaded and serving.
	HealthPath string
	// Container is how the engine's container differs from the others'.
	Container Container
	// FlagTables names the engine whose release flag tables
	// (modules/engineflags) check the Options this kind renders; empty
	// for a kind whose command line sovereign cannot check.
	FlagTables string
	// UncheckedFlags says why a kind without flag tables cannot have its
	// extra_args checked; a blueprint that gives some is warned with it.
	UncheckedFlags string
	// UnknownMetrics says why sovereign does not know the metrics a kind's
	// image exports; such an engine is not scraped and has no dashboards.
	// Empty for a kind whose metric names are listed per release.
	UnknownMetrics string
}

// Option is one option of an engine's command line as its kind renders
// it: the flag and its values, and the blueprint place that produced it,
// so that a check of the option points there.
type Option struct {
	// Words are the flag and its values, or one extra_args item.
	Words []string
	// From is the attribute that set the option: a setting, an extra_args
	// item, or the engine block for what sovereign always passes.
	From hcl.Range
	// ExtraArg is the option's place in extra_args, from 1; 0 for an option
	// the kind renders from a setting. Several items often share a line,
	// so a message names the item too.
	ExtraArg int
	// Setting is the engine setting the option renders: a spec.Setting,
	// one of the kind's own settings, or a setting every engine has (port,
	// served_model_name). Empty for an extra_args item and for what
	// sovereign passes of its own accord (the listen address).
	Setting string
}

// Tuning is what the capacity plan derived for the engine's command line
// and printed in `sovereign plan`; 0 where the blueprint gives the value
// itself or the plan leaves it to the engine.
type Tuning struct {
	MaxNumSeqs          int
	MaxNumBatchedTokens int
}

// Tuned renders flag with the blueprint's value of setting s (given) or,
// when it gives none, the plan's (derived); ok is false when neither has
// one, or when an extra_args item sets the flag itself (the plan then took
// its value from there).
func Tuned(eng *spec.Engine, s spec.Setting, given, derived int, flag string) (Option, bool) {
	switch {
	case given > 0:
		return SettingOpt(eng, s, flag, strconv.Itoa(given)), true
	case derived > 0:
		return Option{Words: []string{flag, strconv.Itoa(derived)}, From: eng.DeclRange, Setting: string(s)}, true
	}
	return Option{}, false
}

// Words flattens options into the words of a command line.
func Words(opts []Option) []string {
	var words []string
	for _, o := range opts {
		words = append(words, o.Words...)
	}
	return words
}

// Opt is an option from the blueprint place from.
func Opt(from hcl.Range, words ...string) Option { return Option{Words: words, From: from} }

// SettingOpt is an option that engine setting s renders, from where the
// blueprint wrote s.
func SettingOpt(eng *spec.Engine, s spec.Setting, words ...string) Option {
	return Option{Words: words, From: eng.RangeOf(s), Setting: string(s)}
}

// AttrOpt is an option that a setting every engine kind has (port,
// served_model_name) renders.
func AttrOpt(eng *spec.Engine, name string, words ...string) Option {
	return Option{Words: words, From: eng.DeclRange, Setting: name}
}

// OwnOpt is an option that the kind's own setting name renders, from where
// the blueprint wrote it.
func OwnOpt(eng *spec.Engine, name string, words ...string) Option {
	return Option{Words: words, From: eng.RangeOfOwn(name), Setting: name}
}

// ExtraArgs are eng's extra_args, each item an option of its own where the
// blueprint wrote it.
func ExtraArgs(eng *spec.Engine) []Option {
	opts := make([]Option, len(eng.ExtraArgs))
	for i, w := range eng.ExtraArgs {
		opts[i] = Option{Words: []string{w}, From: eng.RangeOfExtraArg(i), ExtraArg: i + 1}
	}
	return opts
}

// Container is an engine's part of its Quadlet, besides what every engine
// shares (GPU, model folder, loopback port, health check, restarts).
type Container struct {
	// Entrypoint, when set, replaces the image's.
	Entrypoint string
	// Command are the words after the entrypoint that start the server,
	// before its options: "-m", "sglang.launch_server".
	Command []string
	// Options are the server's options after Command, with the tuning the
	// capacity plan derived; nil for an engine that is configured by its
	// environment alone.
	Options func(eng *spec.Engine, modelMount string, derived Tuning) []Option
	// Env is the engine's environment, besides the blueprint's own; nil
	// for none.
	Env func(eng *spec.Engine, modelMount string) map[string]string
	// Secrets go to a 0600 environment file besides the API key; Origin is
	// where they came from. Nil or empty for none.
	Secrets func(eng *spec.Engine) (env map[string]string, origin *spec.Secret)
	// Port, when set, is the port the engine listens on inside its own
	// network namespace, published on 127.0.0.1 only: for engines whose
	// listen address cannot be set. Otherwise the container shares the
	// host's network and the engine binds 127.0.0.1 itself.
	Port int
	// CacheMount is where the engine's persistent cache folder appears in
	// the container; empty for none.
	CacheMount string
	// User, when set, is the container's user.
	User string
	// BringsModel says that the engine serves a model from its image, so
	// no model folder is mounted or required.
	BringsModel func(eng *spec.Engine) bool
}

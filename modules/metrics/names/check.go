package names

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

// Problem is what is wrong with one expression: it does not parse, or it
// names a metric no target exports. Start and End are byte offsets into the
// expression.
type Problem struct {
	Summary, Detail string
	Start, End      int
}

func (p Problem) Error() string { return p.Summary + ": " + p.Detail }

// promql parses the way the Prometheus release the appliance runs does for
// the expressions sovereign writes: plain names, the stock functions.
var promql = parser.NewParser(parser.Options{})

// Check parses expr with Prometheus's parser and checks every metric name
// it selects against the targets that may answer it. Selectors without a
// fixed name ({job="x"}, a regular expression on __name__) are not checked.
func Check(expr string, targets ...*List) []Problem {
	tree, err := promql.ParseExpr(expr)
	if err != nil {
		return parseProblems(err)
	}
	var problems []Problem
	parser.Inspect(tree, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := selectedName(vs)
		if name == "" || exported(name, targets) {
			return nil
		}
		pos := vs.PositionRange()
		problems = append(problems, Problem{
			Summary: "Unknown metric",
			Detail:  fmt.Sprintf("%s is exported by %s, so this expression would never match anything.%s", name, targetNames(targets), suggestion(name, targets)),
			Start:   int(pos.Start), End: int(pos.End),
		})
		return nil
	})
	return problems
}

// Deprecated returns the names expr selects that a target exports only as
// deprecated: gone in a later release, so an upgrade would break them.
func Deprecated(expr string, targets ...*List) []string {
	tree, err := promql.ParseExpr(expr)
	if err != nil {
		return nil
	}
	var out []string
	parser.Inspect(tree, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			for _, t := range targets {
				if f, ok := t.family(selectedName(vs)); ok && f.Deprecated {
					out = append(out, f.Name)
				}
			}
		}
		return nil
	})
	return out
}

func selectedName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

func exported(name string, targets []*List) bool {
	for _, t := range targets {
		if t.Has(name) {
			return true
		}
	}
	return false
}

func targetNames(targets []*List) string {
	var names []string
	for _, t := range targets {
		names = append(names, t.Name)
	}
	switch len(names) {
	case 0:
		return "no target"
	case 1:
		return "neither " + names[0] + " nor anything else this appliance scrapes"
	}
	return "none of " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// suggestion names what name most likely meant: the new name of a metric an
// engine release renamed (vllm:time_per_output_token_seconds_count →
// vllm:inter_token_latency_seconds_count, which no spelling rule finds),
// or else the closest exported name.
func suggestion(name string, targets []*List) string {
	if r, release := renamed(name); r != "" && exported(r, targets) {
		return fmt.Sprintf(" Did you mean %s? %s deprecates this name for it.", r, release)
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.Names()...)
	}
	return lang.SuggestBare(name, names)
}

// renamed returns the series that replaces a deprecated one in the releases
// sovereign knows, and the release that says so.
func renamed(series string) (replacement, release string) {
	for _, kind := range slices.Sorted(maps.Keys(engines)) {
		for _, r := range slices.Sorted(maps.Keys(engines[kind])) {
			l := engines[kind][r]
			if f, ok := l.family(series); ok && f.ReplacedBy != "" {
				return f.ReplacedBy + strings.TrimPrefix(series, f.Name), l.Name
			}
		}
	}
	return "", ""
}

func parseProblems(err error) []Problem {
	var list parser.ParseErrors
	if errors.As(err, &list) && len(list) > 0 {
		var out []Problem
		for _, e := range list {
			out = append(out, Problem{Summary: "Invalid PromQL", Detail: e.Err.Error() + ".", Start: int(e.PositionRange.Start), End: int(e.PositionRange.End)})
		}
		return out
	}
	var one *parser.ParseErr
	if errors.As(err, &one) {
		return []Problem{{Summary: "Invalid PromQL", Detail: one.Err.Error() + ".", Start: int(one.PositionRange.Start), End: int(one.PositionRange.End)}}
	}
	return []Problem{{Summary: "Invalid PromQL", Detail: err.Error() + "."}}
}

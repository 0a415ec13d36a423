package names

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
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

// suggestion names the closest exported name, for a renamed metric
// (vllm:gpu_cache_usage_perc → vllm:kv_cache_usage_perc).
func suggestion(name string, targets []*List) string {
	best, bestDist := "", len(name)/3+1
	for _, t := range targets {
		for _, n := range t.Names() {
			if d := levenshtein.Distance(name, n, nil); d < bestDist {
				best, bestDist = n, d
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %s?", best)
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

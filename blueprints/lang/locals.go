package lang

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// locals evaluates every local value in dependency order. A cycle is reported
// once, naming every local in it, rather than found by a depth limit.
func (e *Evaluator) Locals(blocks []*hcl.Block) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	attrs := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		as, moreDiags := b.Body.JustAttributes()
		diags = append(diags, moreDiags...)
		for name, a := range as {
			if prev, ok := attrs[name]; ok {
				diags = append(diags, DuplicateDiag("local value", name, a.NameRange, prev.NameRange))
				continue
			}
			attrs[name] = a
		}
	}

	deps := map[string][]string{}
	for _, name := range sortedAttrNames(attrs) {
		for _, ref := range attrs[name].Expr.Variables() {
			if ref.RootName() != "local" || len(ref) < 2 {
				continue
			}
			a, ok := ref[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			if _, declared := attrs[a.Name]; !declared {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared local value",
					Detail:   fmt.Sprintf("No local value named %q is declared.%s", a.Name, Suggest(a.Name, sortedAttrNames(attrs))),
					Subject:  ref.SourceRange().Ptr(),
				})
				continue
			}
			deps[name] = append(deps[name], a.Name)
		}
	}
	if diags.HasErrors() {
		return placeholders(attrs), diags
	}

	order, cycle := topoSort(sortedAttrNames(attrs), deps)
	if cycle != nil {
		var where []string
		for _, n := range cycle {
			where = append(where, fmt.Sprintf("local.%s (%s)", n, attrs[n].NameRange))
		}
		return placeholders(attrs), append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cycle in local values",
			Detail:   "These local values refer to each other in a loop, so none of them can be computed: " + strings.Join(where, " → ") + ".",
			Subject:  attrs[cycle[0]].NameRange.Ptr(),
		})
	}

	vals := map[string]cty.Value{}
	for _, name := range order {
		e.Ctx.Variables["local"] = cty.ObjectVal(vals)
		v, moreDiags := attrs[name].Expr.Value(e.Ctx)
		diags = append(diags, moreDiags...)
		if moreDiags.HasErrors() {
			v = cty.DynamicVal
		}
		vals[name] = v
	}
	delete(e.Ctx.Variables, "local")
	return vals, diags
}

func placeholders(attrs map[string]*hcl.Attribute) map[string]cty.Value {
	vals := map[string]cty.Value{}
	for name := range attrs {
		vals[name] = cty.DynamicVal
	}
	return vals
}

// topoSort orders names so that each comes after its dependencies. When the
// graph has a cycle it returns the names in one cycle, in order.
func topoSort(names []string, deps map[string][]string) (order []string, cycle []string) {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) bool
	visit = func(n string) bool {
		switch state[n] {
		case done:
			return true
		case visiting:
			for i, s := range stack {
				if s == n {
					cycle = append([]string(nil), stack[i:]...)
					cycle = append(cycle, n)
				}
			}
			return false
		}
		state[n] = visiting
		stack = append(stack, n)
		ds := append([]string(nil), deps[n]...)
		sort.Strings(ds)
		for _, d := range ds {
			if !visit(d) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		order = append(order, n)
		return true
	}
	for _, n := range names {
		if !visit(n) {
			return nil, cycle
		}
	}
	return order, nil
}

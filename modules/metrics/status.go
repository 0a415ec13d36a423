package metrics

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/gateway"
	"github.com/sovereign-collective/sovereign/modules/metrics/names"
	"github.com/sovereign-collective/sovereign/modules/usage"
)

// StatusQueries are the PromQL queries of the gateway's status page, each
// checked like the dashboards' against what the appliance scrapes; nil
// without a metrics block or a gateway.
func StatusQueries(bp *spec.Blueprint) (*gateway.Status, hcl.Diagnostics) {
	if bp.Metrics == nil || bp.Gateway == nil {
		return nil, nil
	}
	s, _ := newStack(bp) // its warnings are Compile's to give
	up := fmt.Sprintf("up{job=%q}", JobEngine)
	q := map[string]string{gateway.StatusUp: up}
	var exprs []checked
	engineLists := map[string][]*names.List{}
	var running, waiting []string
	kinds := map[string]bool{}
	for _, et := range s.engines {
		if et.names != nil {
			engineLists[et.eng.Kind] = append(engineLists[et.eng.Kind], et.names)
			kinds[et.eng.Kind] = true
		}
	}
	var sorted []string
	for k := range kinds {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, kind := range sorted {
		eq, ok := engineKinds[kind]
		if !ok {
			continue
		}
		sel := fmt.Sprintf("{job=%q}", JobEngine)
		running = append(running, fmt.Sprintf("sum by (engine) (%s%s)", eq.running, sel))
		waiting = append(waiting, fmt.Sprintf("sum by (engine) (%s%s)", eq.waiting, sel))
		exprs = append(exprs, checked{expr: running[len(running)-1], targets: engineLists[kind], origin: bp.Metrics.DeclRange},
			checked{expr: waiting[len(waiting)-1], targets: engineLists[kind], origin: bp.Metrics.DeclRange})
	}
	if len(running) > 0 {
		q[gateway.StatusRunning] = strings.Join(running, " or ")
		q[gateway.StatusWaiting] = strings.Join(waiting, " or ")
	}
	for name, counter := range map[string]string{
		gateway.StatusPromptTokens: usage.PromptTokens, gateway.StatusCompletionTokens: usage.CompletionTokens, gateway.StatusRequests: usage.Requests,
	} {
		q[name] = fmt.Sprintf("sum by (model) (%s{job=%q,member=%s})", counter, JobUsage, gateway.StatusMember)
		// Checked with a member's name in the placeholder's place.
		exprs = append(exprs, checked{expr: strings.ReplaceAll(q[name], gateway.StatusMember, `"someone"`), targets: []*names.List{names.Usage}, origin: bp.Metrics.DeclRange})
	}
	if diags := check(exprs); diags.HasErrors() {
		return nil, diags
	}
	return &gateway.Status{Prometheus: fmt.Sprintf("http://127.0.0.1:%d", PrometheusPort), Queries: q}, nil
}

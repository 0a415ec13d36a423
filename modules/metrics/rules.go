package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/engine"
	"github.com/sovereign-collective/sovereign/modules/metrics/names"
)

// localFilesystems leaves out what is not a disk: memory-backed and
// read-only image filesystems never fill up the way the state disk does.
const localFilesystems = `fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.*"`

// checked is an expression with the targets that must export every metric
// it names, and where to report it.
type checked struct {
	expr    string
	targets []*names.List
	origin  hcl.Range
}

// check parses each expression and refuses names its targets do not
// export: the expressions are sovereign's own, so a problem here means an
// engine release that lacks a metric the dashboards were written for.
func check(exprs []checked) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, c := range exprs {
		for _, p := range names.Check(c.expr, c.targets...) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  p.Summary,
				Detail:   fmt.Sprintf("sovereign's own query %q does not hold for this appliance: %s", c.expr, p.Detail),
				Subject:  c.origin.Ptr(),
			})
		}
	}
	return diags
}

// builtinRules are the alerts every appliance with a metrics block gets.
func (s *stack) builtinRules() (ruleFile, hcl.Diagnostics) {
	m := s.m
	var rules []alertRule
	var exprs []checked
	add := func(r alertRule, origin hcl.Range, targets ...*names.List) {
		rules = append(rules, r)
		exprs = append(exprs, checked{expr: r.Expr, targets: targets, origin: origin})
	}
	for _, et := range s.engines {
		eng := et.eng
		sel := fmt.Sprintf(`{job=%q,engine=%q}`, JobEngine, eng.Name)
		// An engine loading a big model answers nothing for minutes; down
		// for longer than its start may take, it is really down.
		add(alertRule{
			Alert: "EngineDown", Expr: "up" + sel + " == 0", For: seconds(max(engine.StartTimeout(eng), 5*time.Minute)),
			Labels:      map[string]string{"severity": "critical", "engine": eng.Name},
			Annotations: map[string]string{"summary": fmt.Sprintf("Engine %s does not answer on 127.0.0.1:%d/metrics.", eng.Name, eng.Port)},
		}, eng.DeclRange, names.Prometheus)
		if waiting := queueMetric(eng.Kind); et.names != nil && waiting != "" {
			add(alertRule{
				Alert: "EngineQueueBacklog", Expr: fmt.Sprintf("%s%s > %d", waiting, sel, m.QueueDepthLimit), For: seconds(m.QueueDepthFor),
				Labels: map[string]string{"severity": "warning", "engine": eng.Name},
				Annotations: map[string]string{"summary": fmt.Sprintf("More than %d requests have waited on engine %s for %s: members wait for a free slot.",
					m.QueueDepthLimit, eng.Name, seconds(m.QueueDepthFor))},
			}, eng.DeclRange, et.names)
		}
	}
	add(alertRule{
		Alert: "GPUTooHot", Expr: fmt.Sprintf("DCGM_FI_DEV_GPU_TEMP > %d", m.GPUTemperatureLimit), For: "2m",
		Labels:      map[string]string{"severity": "critical"},
		Annotations: map[string]string{"summary": fmt.Sprintf("GPU {{ $labels.gpu }} is at {{ $value }} °C, above %d °C: check the airflow and the room.", m.GPUTemperatureLimit)},
	}, m.DeclRange, names.DCGMExporter)
	add(alertRule{
		Alert: "DiskAlmostFull",
		Expr: fmt.Sprintf("100 * (1 - node_filesystem_avail_bytes{%s} / node_filesystem_size_bytes{%s}) > %d",
			localFilesystems, localFilesystems, m.DiskUsedLimit),
		For:         "10m",
		Labels:      map[string]string{"severity": "warning"},
		Annotations: map[string]string{"summary": fmt.Sprintf("%s is more than %d%% full.", "{{ $labels.mountpoint }}", m.DiskUsedLimit)},
	}, m.DeclRange, names.NodeExporter)
	add(alertRule{
		Alert:       "DiskFillingUp",
		Expr:        fmt.Sprintf("predict_linear(node_filesystem_avail_bytes{%s}[6h], 86400) < 0", localFilesystems),
		For:         "1h",
		Labels:      map[string]string{"severity": "warning"},
		Annotations: map[string]string{"summary": "At the rate of the last six hours, {{ $labels.mountpoint }} is full within a day."},
	}, m.DeclRange, names.NodeExporter)
	if u := s.power; u != nil {
		add(alertRule{
			Alert: "UPSOnBattery", Expr: `network_ups_tools_ups_status{flag="OB"} == 1`,
			Labels: map[string]string{"severity": "critical"},
			Annotations: map[string]string{"summary": fmt.Sprintf("UPS %s is on battery: the gateway drains after %s and the host powers off after %s unless power returns.",
				u.Name, seconds(u.OnBattery.DrainAfter), seconds(u.OnBattery.ShutdownAfter))},
		}, u.DeclRange, names.NUTExporter)
		add(alertRule{
			Alert: "UPSLowBattery", Expr: `network_ups_tools_ups_status{flag="LB"} == 1`,
			Labels:      map[string]string{"severity": "critical"},
			Annotations: map[string]string{"summary": fmt.Sprintf("UPS %s reports a low battery: the host is about to power off.", u.Name)},
		}, u.DeclRange, names.NUTExporter)
	}
	if w := s.bp.WAN; w != nil && len(w.Uplinks) > 1 {
		primary := w.Uplinks[0]
		add(alertRule{
			Alert: "RunningOnBackupUplink", Expr: fmt.Sprintf(`absent(%s)`, routeSelector(primary.Metric())), For: "2m",
			Labels: map[string]string{"severity": "warning"},
			Annotations: map[string]string{"summary": fmt.Sprintf("The primary uplink %s does not carry the default route: traffic goes out through a backup (%s).",
				primary.Name, strings.Join(uplinkNames(w.Uplinks[1:]), ", "))},
		}, primary.DeclRange, names.NodeExporter)
	}
	return ruleFile{Groups: []ruleGroup{{Name: "sovereign", Rules: rules}}}, check(exprs)
}

// queueMetric is the gauge of requests waiting for a slot, per engine kind.
func queueMetric(kind string) string {
	switch kind {
	case "vllm":
		return "vllm:num_requests_waiting"
	case "sglang":
		return "sglang:num_queue_reqs"
	}
	return ""
}

// routeSelector selects the default route an uplink holds while it carries
// traffic: the wan module gives each uplink its own route metric, and
// demotes a failing one to another.
func routeSelector(metric int) string {
	return fmt.Sprintf(`node_network_route_info{dest="default",priority=%q}`, strconv.Itoa(metric))
}

func uplinkNames(us []*spec.Uplink) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// blueprintRules are the blueprint's own rules, each checked against every
// target the appliance scrapes, with problems reported inside the
// expression where its position is known.
func (s *stack) blueprintRules() (ruleFile, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var rules []alertRule
	lists := s.lists()
	for _, r := range s.m.Rules {
		for _, p := range names.Check(r.Expr, lists...) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  p.Summary,
				Detail:   fmt.Sprintf("Rule %q: %s", r.Name, p.Detail),
				Subject:  exprSubject(r, p),
			})
		}
		ann := map[string]string{}
		if r.Summary != "" {
			ann["summary"] = r.Summary
		}
		rules = append(rules, alertRule{
			Alert: r.Name, Expr: r.Expr, For: seconds(r.For),
			Labels: map[string]string{"severity": r.Severity}, Annotations: ann,
		})
	}
	if len(rules) == 0 {
		return ruleFile{}, diags
	}
	return ruleFile{Groups: []ruleGroup{{Name: "blueprint", Rules: rules}}}, diags
}

// exprSubject is where a problem inside a rule's expression is: at its own
// columns when the expression is a one-line literal, else the whole
// expression.
func exprSubject(r *spec.AlertRule, p names.Problem) *hcl.Range {
	if !r.ExprLiteral || p.End <= p.Start {
		return r.ExprRange.Ptr()
	}
	rng := r.ExprRange
	open := rng.Start // the opening quote
	rng.Start = hcl.Pos{Line: open.Line, Column: open.Column + 1 + p.Start, Byte: open.Byte + 1 + p.Start}
	rng.End = hcl.Pos{Line: open.Line, Column: open.Column + 1 + p.End, Byte: open.Byte + 1 + p.End}
	return &rng
}

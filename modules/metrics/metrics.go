// Package metrics compiles the metrics block: Prometheus scraping the
// engines and the host's exporters (GPU, host, UPS, uplinks), alerting
// rules sent through Alertmanager to the collective's receivers, and
// Grafana with its data source and dashboards provisioned. Every part runs
// as a pinned Quadlet on the host network bound to 127.0.0.1: nothing here
// is reachable from the network, and the engines' /metrics are read on the
// host only.
package metrics

import (
	"fmt"
	"path"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
	"github.com/sovereign-collective/sovereign/modules/metrics/names"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/usage"
	"github.com/sovereign-collective/sovereign/units"
)

// Where the files go on the appliance.
const (
	ConfDir           = "/etc/sovereign/metrics"
	PrometheusConf    = ConfDir + "/prometheus/prometheus.yml"
	RulesDir          = ConfDir + "/prometheus/rules"
	BuiltinRules      = RulesDir + "/sovereign.yml"
	BlueprintRules    = RulesDir + "/blueprint.yml"
	AlertmanagerConf  = ConfDir + "/alertmanager/alertmanager.yml"
	BlackboxConf      = ConfDir + "/blackbox/blackbox.yml"
	GrafanaDir        = ConfDir + "/grafana"
	DatasourceConf    = GrafanaDir + "/provisioning/datasources/prometheus.yml"
	DashboardProvider = GrafanaDir + "/provisioning/dashboards/sovereign.yml"
	DashboardsDir     = GrafanaDir + "/dashboards"
	MtailProgram      = ConfDir + "/mtail/usage.mtail"
)

// Loopback ports, each project's default.
const (
	PrometheusPort   = 9090
	AlertmanagerPort = 9093
	GrafanaPort      = 3000
	NodeExporterPort = 9100
	DCGMExporterPort = 9400
	NUTExporterPort  = 9199
	BlackboxPort     = 9115
	MtailPort        = 3903
)

// Scrape jobs; rules and dashboards select by them.
const (
	JobEngine       = "engine"
	JobNode         = "node"
	JobGPU          = "gpu"
	JobUPS          = "ups"
	JobUplink       = "uplink"
	JobPrometheus   = "prometheus"
	JobAlertmanager = "alertmanager"
	JobUsage        = "usage"
)

// target is one thing Prometheus scrapes and the names it exports.
type target struct {
	job    string
	addr   string
	path   string
	params map[string][]string
	labels map[string]string
	names  *names.List
	origin hcl.Range
}

// engineTarget is an engine Prometheus scrapes, with the metric names of
// the release its image is pinned to (nil when sovereign does not know
// them).
type engineTarget struct {
	eng   *spec.Engine
	names *names.List
}

// stack is everything the module derives from the blueprint before
// rendering.
type stack struct {
	bp *spec.Blueprint
	// power is the ups block as ups.Resolve settled it (nil without one):
	// the on-battery alert names its timeline.
	power   *ups.Settings
	m       *spec.Metrics
	targets []target
	engines []engineTarget
}

// Compile returns the metrics block's contribution, or nil without one.
// Diagnostics name expressions that do not parse or query metrics that no
// target exports, and engines whose metric names sovereign does not know.
// power is bp's ups block as ups.Resolve settled it, nil without one.
func Compile(bp *spec.Blueprint, power *ups.Settings) (*units.Tree, hcl.Diagnostics) {
	m := bp.Metrics
	if m == nil {
		return nil, nil
	}
	s, diags := newStack(bp)
	s.power = power
	builtin, moreDiags := s.builtinRules()
	diags = append(diags, moreDiags...)
	custom, moreDiags := s.blueprintRules()
	diags = append(diags, moreDiags...)
	boards, moreDiags := s.dashboards()
	diags = append(diags, moreDiags...)
	if diags.HasErrors() {
		return nil, diags
	}

	at := m.DeclRange
	file := func(p string, contents []byte) *units.File {
		return &units.File{Path: p, Mode: 0o644, Contents: contents, Origin: at}
	}
	t := &units.Tree{Files: []*units.File{
		file(PrometheusConf, yamlFile(s.prometheusConfig())),
		file(BuiltinRules, yamlFile(builtin)),
		file(DatasourceConf, yamlFile(datasources())),
		file(DashboardProvider, yamlFile(dashboardProviders())),
	}}
	if len(custom.Groups) > 0 {
		t.Files = append(t.Files, file(BlueprintRules, yamlFile(custom)))
	}
	am := &units.File{Path: AlertmanagerConf, Mode: 0o644, Contents: yamlFile(alertmanager(m)), Origin: at}
	if m.SMTP != nil && m.SMTP.Password != nil {
		// The mail server's password is in the file: only its owner reads it.
		am.Mode, am.Secret, am.Origin = 0o600, true, m.SMTP.Password.Range
	}
	t.Files = append(t.Files, am)
	if bp.WAN != nil && len(bp.WAN.Check.Targets) > 0 {
		t.Files = append(t.Files, file(BlackboxConf, yamlFile(blackbox())))
	}
	if m.CountsUsage {
		t.Files = append(t.Files, file(MtailProgram, []byte(usage.Program())))
	}
	for _, b := range boards {
		t.Files = append(t.Files, file(path.Join(DashboardsDir, b.UID+".json"), b.JSON()))
	}
	t.Directories = s.directories()
	t.Units = s.quadlets()
	return t, diags
}

func newStack(bp *spec.Blueprint) (*stack, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	m := bp.Metrics
	s := &stack{bp: bp, m: m}
	local := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	s.targets = []target{
		{job: JobPrometheus, addr: local(PrometheusPort), names: names.Prometheus, origin: m.DeclRange},
		{job: JobAlertmanager, addr: local(AlertmanagerPort), origin: m.DeclRange},
		{job: JobNode, addr: local(NodeExporterPort), names: names.NodeExporter, origin: m.DeclRange},
		{job: JobGPU, addr: local(DCGMExporterPort), names: names.DCGMExporter, origin: m.DeclRange},
	}
	for _, eng := range bp.Engines {
		if kind, ok := engines.Lookup(eng.Kind); ok && kind.UnknownMetrics != "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Engine not monitored",
				Detail:   fmt.Sprintf("Engine %q is an %s: %s, so Prometheus does not scrape it and its dashboards and queue alert are left out. The GPU, host and UPS are still monitored.", eng.Name, kind.Display, kind.UnknownMetrics),
				Subject:  eng.DeclRange.Ptr(),
			})
			continue
		}
		list, err := names.Engine(eng.Kind, eng.Image.Ref)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Engine metrics not checked",
				Detail:   fmt.Sprintf("%s. Prometheus scrapes engine %q and alerts when it is down, but its dashboards and queue alert are left out. Pin a known release to get them.", err, eng.Name),
				Subject:  eng.Image.Range.Ptr(),
			})
		}
		s.engines = append(s.engines, engineTarget{eng: eng, names: list})
		s.targets = append(s.targets, target{
			job: JobEngine, addr: local(eng.Port), names: list, origin: eng.DeclRange,
			labels: map[string]string{"engine": eng.Name, "engine_kind": eng.Kind, "model": eng.ServedModelName},
		})
	}
	if bp.UPS != nil {
		s.targets = append(s.targets, target{
			job: JobUPS, addr: local(NUTExporterPort), path: "/ups_metrics", names: names.NUTExporter, origin: bp.UPS.DeclRange,
			params: map[string][]string{"ups": {bp.UPS.Name}}, labels: map[string]string{"ups": bp.UPS.Name},
		})
	}
	if m.CountsUsage {
		s.targets = append(s.targets, target{job: JobUsage, addr: local(MtailPort), names: names.Usage, origin: bp.Gateway.DeclRange})
	}
	if bp.WAN != nil {
		for _, ip := range bp.WAN.Check.Targets {
			s.targets = append(s.targets, target{
				job: JobUplink, addr: ip.String(), path: "/probe", names: names.BlackboxExporter, origin: bp.WAN.Check.DeclRange,
				params: map[string][]string{"module": {"icmp"}},
			})
		}
	}
	return s, diags
}

// lists are the name lists of every target: what a blueprint's own rule may
// query.
func (s *stack) lists() []*names.List {
	seen := map[*names.List]bool{}
	var out []*names.List
	for _, t := range s.targets {
		if t.names != nil && !seen[t.names] {
			seen[t.names] = true
			out = append(out, t.names)
		}
	}
	return out
}

// has reports whether any target exports the series name; dashboards and
// rules for optional parts (a UPS, uplinks) are only built when it does.
func (s *stack) has(job string) bool {
	for _, t := range s.targets {
		if t.job == job {
			return true
		}
	}
	return false
}

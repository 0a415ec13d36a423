package metrics

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/modules/metrics/names"
	"github.com/sovereign-collective/sovereign/modules/usage"
)

// Dashboard is a Grafana dashboard as its JSON model has it (the subset
// sovereign writes). Dashboards are built from these types and marshalled,
// never kept as hand-edited JSON.
type Dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Tags          []string   `json:"tags"`
	Timezone      string     `json:"timezone"`
	Editable      bool       `json:"editable"`
	Refresh       string     `json:"refresh"`
	SchemaVersion int        `json:"schemaVersion"`
	Time          TimeRange  `json:"time"`
	Panels        []*Panel   `json:"panels"`
	Annotations   struct{}   `json:"annotations"`
	Templating    struct{}   `json:"templating"`
	Links         []struct{} `json:"links"`
}

// TimeRange is the dashboard's default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Panel is one graph or figure.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"` // "timeseries", "stat", "bargauge", "row"
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  *Datasource `json:"datasource,omitempty"`
	Targets     []Target    `json:"targets,omitempty"`
	FieldConfig FieldConfig `json:"fieldConfig"`
	Options     any         `json:"options,omitempty"`
}

// GridPos places a panel on Grafana's 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Datasource names the provisioned Prometheus.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat,omitempty"`
	Datasource   *Datasource `json:"datasource"`
}

// FieldConfig sets the unit and range of a panel's values.
type FieldConfig struct {
	Defaults FieldDefaults `json:"defaults"`
}

// FieldDefaults are the unit, bounds and value names shared by a panel's
// series.
type FieldDefaults struct {
	Unit     string         `json:"unit,omitempty"`
	Min      *float64       `json:"min,omitempty"`
	Max      *float64       `json:"max,omitempty"`
	Mappings []ValueMapping `json:"mappings,omitempty"`
}

// ValueMapping shows a value as text: 1 → "on battery".
type ValueMapping struct {
	Type    string                 `json:"type"`
	Options map[string]MappedValue `json:"options"`
}

// MappedValue is the text and colour of one mapped value.
type MappedValue struct {
	Text  string `json:"text"`
	Color string `json:"color,omitempty"`
	Index int    `json:"index"`
}

// JSON is the dashboard file Grafana provisions.
func (d *Dashboard) JSON() []byte {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return []byte("{}\n")
	}
	return append(b, '\n')
}

var prometheusDS = &Datasource{Type: "prometheus", UID: DatasourceUID}

// query is a panel's query with the targets that must export its names.
type query struct {
	expr, legend string
	targets      []*names.List
}

// board lays panels out row by row, two or three to a row, and collects
// every query for the name check.
type board struct {
	d      *Dashboard
	x, y   int
	exprs  []checked
	origin hcl.Range
}

func newBoard(uid, title string, origin hcl.Range) *board {
	return &board{origin: origin, d: &Dashboard{
		UID: uid, Title: title, Tags: []string{"sovereign"}, Timezone: "browser",
		Refresh: "30s", SchemaVersion: 39, Time: TimeRange{From: "now-6h", To: "now"},
		Panels: []*Panel{}, Links: []struct{}{},
	}}
}

func (b *board) row(title string) {
	if b.x > 0 {
		b.x, b.y = 0, b.y+8
	}
	b.d.Panels = append(b.d.Panels, &Panel{ID: len(b.d.Panels) + 1, Type: "row", Title: title, GridPos: GridPos{H: 1, W: 24, Y: b.y}})
	b.y++
}

// panel adds a panel of width w (of 24) with its queries.
func (b *board) panel(kind, title, unit string, w int, qs ...query) *Panel {
	if b.x+w > 24 {
		b.x, b.y = 0, b.y+8
	}
	p := &Panel{ID: len(b.d.Panels) + 1, Type: kind, Title: title, Datasource: prometheusDS,
		GridPos: GridPos{H: 8, W: w, X: b.x, Y: b.y}, FieldConfig: FieldConfig{Defaults: FieldDefaults{Unit: unit}}}
	for i, q := range qs {
		p.Targets = append(p.Targets, Target{RefID: string(rune('A' + i)), Expr: q.expr, LegendFormat: q.legend, Datasource: prometheusDS})
		b.exprs = append(b.exprs, checked{expr: q.expr, targets: q.targets, origin: b.origin})
	}
	b.d.Panels = append(b.d.Panels, p)
	b.x += w
	return p
}

func bounds(p *Panel, lo, hi float64) {
	p.FieldConfig.Defaults.Min, p.FieldConfig.Defaults.Max = &lo, &hi
}

// dashboards are the appliance's dashboards: one for the machine (GPU,
// host, power, uplinks), one for the engines, and one for the members'
// usage when the gateway counts it.
func (s *stack) dashboards() ([]*Dashboard, hcl.Diagnostics) {
	boards := []*board{s.applianceBoard(), s.enginesBoard()}
	if s.m.CountsUsage {
		boards = append(boards, s.membersBoard())
	}
	var out []*Dashboard
	var diags hcl.Diagnostics
	for _, b := range boards {
		out = append(out, b.d)
		diags = append(diags, check(b.exprs)...)
	}
	return out, diags
}

func (s *stack) applianceBoard() *board {
	b := newBoard("sovereign-appliance", "Appliance: GPU, host, power, uplinks", s.m.DeclRange)
	dcgm, node := []*names.List{names.DCGMExporter}, []*names.List{names.NodeExporter}
	b.row("GPU")
	b.panel("timeseries", "GPU temperature", "celsius", 8, query{"DCGM_FI_DEV_GPU_TEMP", "GPU {{gpu}}", dcgm}, query{"DCGM_FI_DEV_MEMORY_TEMP", "memory {{gpu}}", dcgm})
	b.panel("timeseries", "GPU power", "watt", 8, query{"DCGM_FI_DEV_POWER_USAGE", "GPU {{gpu}}", dcgm})
	bounds(b.panel("timeseries", "GPU utilisation", "percent", 8, query{"DCGM_FI_DEV_GPU_UTIL", "GPU {{gpu}}", dcgm}), 0, 100)
	b.panel("timeseries", "GPU memory used", "decmbytes", 12, query{"DCGM_FI_DEV_FB_USED", "used {{gpu}}", dcgm}, query{"DCGM_FI_DEV_FB_FREE", "free {{gpu}}", dcgm})
	b.panel("timeseries", "GPU XID errors", "none", 12, query{"DCGM_FI_DEV_XID_ERRORS", "GPU {{gpu}}", dcgm})
	b.row("Host")
	bounds(b.panel("timeseries", "CPU busy", "percentunit", 8, query{`1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m]))`, "CPU", node}), 0, 1)
	b.panel("timeseries", "Memory available", "bytes", 8, query{"node_memory_MemAvailable_bytes", "available", node}, query{"node_memory_MemTotal_bytes", "total", node})
	bounds(b.panel("timeseries", "Disk used", "percentunit", 8, query{
		fmt.Sprintf("1 - node_filesystem_avail_bytes{%s} / node_filesystem_size_bytes{%s}", localFilesystems, localFilesystems), "{{mountpoint}}", node}), 0, 1)
	if u := s.bp.UPS; u != nil {
		ups := []*names.List{names.NUTExporter}
		b.row("Power: UPS " + u.Name)
		st := b.panel("stat", "On battery", "none", 8, query{`network_ups_tools_ups_status{flag="OB"}`, "", ups})
		st.FieldConfig.Defaults.Mappings = []ValueMapping{{Type: "value", Options: map[string]MappedValue{
			"0": {Text: "on mains", Color: "green", Index: 0}, "1": {Text: "ON BATTERY", Color: "red", Index: 1},
		}}}
		bounds(b.panel("timeseries", "Battery charge", "percent", 8, query{"network_ups_tools_battery_charge", "charge", ups}), 0, 100)
		b.panel("timeseries", "Battery runtime", "s", 8, query{"network_ups_tools_battery_runtime", "runtime", ups})
	}
	if w := s.bp.WAN; w != nil {
		b.row("Uplinks")
		var qs []query
		var metrics []string
		for _, u := range w.Uplinks {
			// An uplink carries traffic when its default route is at its own
			// metric and no uplink before it has one at its metric.
			expr := fmt.Sprintf("count(%s)", routeSelector(u.Metric()))
			if len(metrics) > 0 {
				expr += fmt.Sprintf(` unless count(node_network_route_info{dest="default",priority=~%q})`, strings.Join(metrics, "|"))
			}
			metrics = append(metrics, fmt.Sprint(u.Metric()))
			qs = append(qs, query{expr, u.Name, node})
		}
		b.panel("stat", "Active uplink", "none", 12, qs...)
		if len(w.Check.Targets) > 0 {
			bb := []*names.List{names.BlackboxExporter}
			b.panel("timeseries", "Ping through the active uplink", "s", 12,
				query{`probe_icmp_duration_seconds{phase="rtt"}`, "{{instance}}", bb}, query{"1 - probe_success", "lost {{instance}}", bb})
		}
	}
	return b
}

// engineQueries are one engine kind's spellings of the same figures.
type engineQueries struct {
	kvCache, running, waiting, promptTokens, generationTokens, ttft, itl string
	// prefixHit is the share of prompt tokens served from the prefix
	// cache, given the engine's selector.
	prefixHit func(sel string) string
}

var engineKinds = map[string]engineQueries{
	"vllm": {
		kvCache: "vllm:kv_cache_usage_perc", running: "vllm:num_requests_running", waiting: "vllm:num_requests_waiting",
		promptTokens: "vllm:prompt_tokens_total", generationTokens: "vllm:generation_tokens_total",
		ttft: "vllm:time_to_first_token_seconds", itl: "vllm:inter_token_latency_seconds",
		prefixHit: func(sel string) string {
			return fmt.Sprintf("rate(vllm:prefix_cache_hits_total%s[5m]) / rate(vllm:prefix_cache_queries_total%s[5m])", sel, sel)
		},
	},
	"sglang": {
		kvCache: "sglang:token_usage", running: "sglang:num_running_reqs", waiting: "sglang:num_queue_reqs",
		promptTokens: "sglang:prompt_tokens_total", generationTokens: "sglang:generation_tokens_total",
		ttft: "sglang:time_to_first_token_seconds", itl: "sglang:inter_token_latency_seconds",
		prefixHit: func(sel string) string { return "sglang:cache_hit_rate" + sel },
	},
}

func quantiles(histogram, sel string, targets []*names.List) []query {
	var qs []query
	for _, q := range []string{"0.5", "0.95", "0.99"} {
		qs = append(qs, query{fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s_bucket%s[5m])))", q, histogram, sel), "p" + strings.TrimPrefix(q, "0."), targets})
	}
	return qs
}

func (s *stack) enginesBoard() *board {
	b := newBoard("sovereign-engines", "Engines: load, cache, speed", s.m.DeclRange)
	for _, et := range s.engines {
		q, ok := engineKinds[et.eng.Kind]
		if !ok || et.names == nil {
			continue
		}
		b.origin = et.eng.DeclRange
		t := []*names.List{et.names}
		sel := fmt.Sprintf(`{job=%q,engine=%q}`, JobEngine, et.eng.Name)
		b.row(fmt.Sprintf("Engine %s (%s, %s)", et.eng.Name, et.names.Name, et.eng.ServedModelName))
		bounds(b.panel("timeseries", "KV cache used", "percentunit", 8, query{q.kvCache + sel, "KV cache", t}), 0, 1)
		b.panel("timeseries", "Requests running and waiting", "none", 8, query{q.running + sel, "running", t}, query{q.waiting + sel, "waiting", t})
		b.panel("timeseries", "Tokens per second", "none", 8,
			query{fmt.Sprintf("rate(%s%s[1m])", q.promptTokens, sel), "prompt", t},
			query{fmt.Sprintf("rate(%s%s[1m])", q.generationTokens, sel), "generated", t})
		b.panel("timeseries", "Time to first token", "s", 8, quantiles(q.ttft, sel, t)...)
		b.panel("timeseries", "Inter-token latency", "s", 8, quantiles(q.itl, sel, t)...)
		bounds(b.panel("timeseries", "Prefix cache hit rate", "percentunit", 8, query{q.prefixHit(sel), "hit rate", t}), 0, 1)
	}
	b.origin = s.m.DeclRange
	return b
}

// membersBoard shows who uses the appliance: tokens and answers per member
// and model, from the gateway's usage counters.
func (s *stack) membersBoard() *board {
	b := newBoard("sovereign-members", "Members: tokens and requests", s.bp.Gateway.DeclRange)
	u := []*names.List{names.Usage}
	b.row("Now")
	b.panel("timeseries", "Tokens per second, by member", "none", 12,
		query{fmt.Sprintf("sum by (member) (rate(%s[5m]))", usage.PromptTokens), "{{member}} prompt", u},
		query{fmt.Sprintf("sum by (member) (rate(%s[5m]))", usage.CompletionTokens), "{{member}} generated", u})
	b.panel("timeseries", "Requests per minute, by member and model", "none", 12,
		query{fmt.Sprintf("sum by (member, model) (rate(%s[5m])) * 60", usage.Requests), "{{member}} {{model}}", u})
	b.row("Last 24 hours")
	b.panel("bargauge", "Prompt tokens, by member", "none", 8,
		query{fmt.Sprintf("sum by (member) (increase(%s[24h]))", usage.PromptTokens), "{{member}}", u})
	b.panel("bargauge", "Generated tokens, by member", "none", 8,
		query{fmt.Sprintf("sum by (member) (increase(%s[24h]))", usage.CompletionTokens), "{{member}}", u})
	b.panel("bargauge", "Requests, by member and model", "none", 8,
		query{fmt.Sprintf("sum by (member, model) (increase(%s[24h]))", usage.Requests), "{{member}} {{model}}", u})
	return b
}

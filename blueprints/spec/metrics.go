package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Metrics is the appliance's monitoring: Prometheus scraping the engines and
// the host's exporters, Grafana dashboards, and alerts through Alertmanager
// to the collective's receivers. Everything listens on loopback only.
type Metrics struct {
	// Retention is how long Prometheus keeps samples; ScrapeInterval how
	// often it reads every target.
	Retention      time.Duration
	ScrapeInterval time.Duration

	// Thresholds of the built-in alerts.
	GPUTemperatureLimit int           // °C a GPU may reach before it alerts
	QueueDepthLimit     int           // requests an engine may keep waiting…
	QueueDepthFor       time.Duration // …for this long before it alerts
	DiskUsedLimit       int           // percent of a filesystem in use before it alerts

	Images MetricsImages

	// CountsUsage is true when there is a gateway too: it logs each
	// member's tokens, and mtail turns the log into counters.
	CountsUsage bool

	// Admins are the gateway members who reach Grafana at /grafana/ once
	// signed in; everyone else gets 403. Sorted, each a member's name.
	Admins []string
	// AdminRanges are where each admin was written, in the order given.
	AdminRanges []hcl.Range

	Receivers []*Receiver // sorted by name
	// SMTP is how e-mail receivers are reached; nil when none is needed.
	SMTP *SMTP
	// Rules are the blueprint's own alerting rules, beside the built-in ones.
	Rules []*AlertRule // sorted by name

	DeclRange hcl.Range
}

// MetricsImages are the monitoring stack's container images.
type MetricsImages struct {
	Prometheus, Alertmanager, Grafana                         Image
	NodeExporter, DCGMExporter, NUTExporter, BlackboxExporter Image
	Mtail                                                     Image
}

// Receiver is where firing alerts go: a webhook, an e-mail address, or both.
type Receiver struct {
	Name    string
	Webhook string
	Email   string

	DeclRange hcl.Range
}

// SMTP is the mail server Alertmanager sends e-mail through.
type SMTP struct {
	// Smarthost is host:port.
	Smarthost string
	From      string
	Username  string
	Password  *Secret

	DeclRange hcl.Range
}

// AlertRule is one alerting rule the blueprint adds: a PromQL expression
// that fires when it returns anything for longer than For.
type AlertRule struct {
	Name     string
	Expr     string
	For      time.Duration
	Severity string // "warning" or "critical"
	Summary  string

	DeclRange hcl.Range
	// ExprRange is where Expr was written; when it is a one-line string
	// literal, ExprLiteral is true and a column inside the expression maps
	// to ExprRange.Start.Column + 1 + its byte offset.
	ExprRange   hcl.Range
	ExprLiteral bool
}

// MetricsService is one container of the monitoring stack and the most it
// may take: its unit's MemoryMax and CPUQuota, so that the stack can never
// starve the engines of the host's memory and cores.
type MetricsService struct {
	Unit        string // the Quadlet's name without .container
	MemoryBytes int64
	CPUPercent  int // of one core
}

// Services are the stack's containers for an appliance with or without a
// UPS and uplink checks, with their limits.
func (m *Metrics) Services(ups, uplinkChecks bool) []MetricsService {
	const mib = 1 << 20
	out := []MetricsService{
		// A few thousand series: Prometheus's head block stays well under 1 GiB.
		{Unit: "metrics-prometheus", MemoryBytes: 2048 * mib, CPUPercent: 100},
		{Unit: "metrics-alertmanager", MemoryBytes: 128 * mib, CPUPercent: 20},
		{Unit: "metrics-grafana", MemoryBytes: 512 * mib, CPUPercent: 50},
		{Unit: "metrics-node-exporter", MemoryBytes: 128 * mib, CPUPercent: 20},
		// dcgm-exporter embeds DCGM's host engine.
		{Unit: "metrics-dcgm-exporter", MemoryBytes: 1024 * mib, CPUPercent: 50},
	}
	if ups {
		out = append(out, MetricsService{Unit: "metrics-nut-exporter", MemoryBytes: 64 * mib, CPUPercent: 10})
	}
	if uplinkChecks {
		out = append(out, MetricsService{Unit: "metrics-blackbox-exporter", MemoryBytes: 64 * mib, CPUPercent: 10})
	}
	if m.CountsUsage {
		// One regular expression per line of a log of a few lines a second.
		out = append(out, MetricsService{Unit: "metrics-mtail", MemoryBytes: 64 * mib, CPUPercent: 10})
	}
	return out
}

// MetricsFootprint is what the monitoring stack takes from the host.
type MetricsFootprint struct {
	// MemoryBytes and CPUCores are the sum of the services' limits.
	MemoryBytes int64
	CPUCores    float64
	// Series is the estimated number of time series scraped, and
	// DiskBytes what Prometheus keeps of them for Retention.
	Series    int
	DiskBytes int64
}

// Series a scrape target exports, roughly: node_exporter on a large host,
// dcgm-exporter's default counters per GPU, an engine with its latency
// histograms, and the rest (Prometheus's and Alertmanager's own).
const (
	nodeSeries     = 1500
	gpuSeries      = 40
	engineSeries   = 600
	baseSeries     = 1000
	upsSeries      = 20
	uplinkSeries   = 10
	bytesPerSample = 2 // Prometheus's storage documentation: 1–2 bytes per sample
)

// Footprint estimates the stack's share of the host.
func (m *Metrics) Footprint(gpus, engines int, ups bool, uplinkTargets int) MetricsFootprint {
	var f MetricsFootprint
	for _, s := range m.Services(ups, uplinkTargets > 0) {
		f.MemoryBytes += s.MemoryBytes
		f.CPUCores += float64(s.CPUPercent) / 100
	}
	f.Series = baseSeries + nodeSeries + gpuSeries*max(gpus, 1) + engineSeries*engines + uplinkSeries*uplinkTargets
	if ups {
		f.Series += upsSeries
	}
	if m.ScrapeInterval > 0 {
		samples := int64(m.Retention / m.ScrapeInterval)
		f.DiskBytes = int64(f.Series) * samples * bytesPerSample
	}
	return f
}

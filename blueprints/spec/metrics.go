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

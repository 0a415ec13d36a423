package decode

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var metricsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "retention_days"},
		{Name: "scrape_interval"},
		{Name: "gpu_temperature_limit"},
		{Name: "queue_depth_limit"},
		{Name: "queue_depth_for"},
		{Name: "disk_used_limit"},
		{Name: "prometheus_image"},
		{Name: "alertmanager_image"},
		{Name: "grafana_image"},
		{Name: "node_exporter_image"},
		{Name: "dcgm_exporter_image"},
		{Name: "nut_exporter_image"},
		{Name: "blackbox_exporter_image"},
		{Name: "mtail_image"},
		{Name: "admins"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "receiver", LabelNames: []string{"name"}},
		{Type: "smtp"},
		{Type: "rule", LabelNames: []string{"name"}},
	},
}

var receiverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "webhook"},
		{Name: "email"},
	},
}

var smtpSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "smarthost", Required: true},
		{Name: "from", Required: true},
		{Name: "username"},
		{Name: "password"},
	},
}

var alertRuleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "expr", Required: true},
		{Name: "for"},
		{Name: "severity"},
		{Name: "summary"},
	},
}

// Metrics defaults: two weeks of history is enough to compare this week
// with the last; 15 s is Prometheus's own default interval.
const (
	DefaultRetentionDays       = 15
	DefaultScrapeInterval      = 15 * time.Second
	DefaultGPUTemperatureLimit = 85
	DefaultQueueDepthLimit     = 10
	DefaultQueueDepthFor       = 5 * time.Minute
	DefaultDiskUsedLimit       = 90
)

// The monitoring stack's images when the blueprint names none. Those with a
// digest are multi-arch indexes that public repositories pin by the same
// digest; the others are pinned through the blueprint's lock file.
const (
	DefaultPrometheusImage       = "docker.io/prom/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996"
	DefaultAlertmanagerImage     = "docker.io/prom/alertmanager:v0.29.0@sha256:88743b63b3e09ea6e31e140ced5bf45f4a8e82c617c2a963f78841f4995ad1d7"
	DefaultGrafanaImage          = "docker.io/grafana/grafana:12.1.1@sha256:a1701c2180249361737a99a01bc770db39381640e4d631825d38ff4535efa47d"
	DefaultBlackboxExporterImage = "docker.io/prom/blackbox-exporter:v0.27.0@sha256:a50c4c0eda297baa1678cd4dc4712a67fdea713b832d43ce7fcc5f9bea05094d"
	DefaultNodeExporterImage     = "docker.io/prom/node-exporter:v1.9.1@sha256:d00a542e409ee618a4edc67da14dd48c5da66726bbd5537ab2af9c1dfc442c8a"
	// The Ubuntu flavour: the distroless one lacks XID error reporting.
	DefaultDCGMExporterImage = "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04"
	DefaultNUTExporterImage  = "ghcr.io/druggeri/nut_exporter:3.3.0"
	// mtail counts each member's tokens from the gateway's usage log.
	DefaultMtailImage = "ghcr.io/google/mtail:3.0.8"
)

// AlertSeverities are the severities an alerting rule may carry.
var AlertSeverities = []string{"warning", "critical"}

var (
	// metricsName is a receiver's or rule's name: it becomes an
	// Alertmanager receiver name or a Prometheus alertname.
	metricsName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	smarthost   = regexp.MustCompile(`^[A-Za-z0-9.-]+:[0-9]{1,5}$`)
)

func (e *evaluator) metrics(b *hcl.Block) (*spec.Metrics, hcl.Diagnostics) {
	content, diags := b.Body.Content(metricsSchema)
	a := e.Attrs(b, content, metricsSchema)
	m := &spec.Metrics{
		Retention:           time.Duration(a.Integer("retention_days", DefaultRetentionDays, 1, 3650)) * 24 * time.Hour,
		ScrapeInterval:      a.Duration("scrape_interval", DefaultScrapeInterval),
		GPUTemperatureLimit: a.Integer("gpu_temperature_limit", DefaultGPUTemperatureLimit, 40, 120),
		QueueDepthLimit:     a.Integer("queue_depth_limit", DefaultQueueDepthLimit, 1, 100000),
		QueueDepthFor:       a.Duration("queue_depth_for", DefaultQueueDepthFor),
		DiskUsedLimit:       a.Integer("disk_used_limit", DefaultDiskUsedLimit, 10, 99),
		DeclRange:           b.DefRange,
	}
	image := func(name, def string) spec.Image {
		return spec.Image{Ref: a.Str(name, def), Range: a.Range(name, b.DefRange)}
	}
	m.Images = spec.MetricsImages{
		Prometheus:       image("prometheus_image", DefaultPrometheusImage),
		Alertmanager:     image("alertmanager_image", DefaultAlertmanagerImage),
		Grafana:          image("grafana_image", DefaultGrafanaImage),
		NodeExporter:     image("node_exporter_image", DefaultNodeExporterImage),
		DCGMExporter:     image("dcgm_exporter_image", DefaultDCGMExporterImage),
		NUTExporter:      image("nut_exporter_image", DefaultNUTExporterImage),
		BlackboxExporter: image("blackbox_exporter_image", DefaultBlackboxExporterImage),
		Mtail:            image("mtail_image", DefaultMtailImage),
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"scrape_interval", m.ScrapeInterval}, {"queue_depth_for", m.QueueDepthFor}} {
		if d.v%time.Second != 0 {
			a.Errorf(d.name, "Invalid duration", "%s counts whole seconds, not %s.", d.name, d.v)
		}
	}
	if m.ScrapeInterval > 5*time.Minute {
		a.Errorf("scrape_interval", "Value out of range", "scrape_interval must be at most 5m: Prometheus treats a series not scraped for 5 minutes as gone, and every panel and alert would flicker.")
	}

	m.Admins, m.AdminRanges = a.StringsWithRanges("admins")

	var smtpBlock *hcl.Block
	receivers := names{"receiver", map[string]hcl.Range{}}
	rules := names{"rule", map[string]hcl.Range{}}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "receiver":
			r, moreDiags := e.receiver(blk)
			diags = append(diags, moreDiags...)
			if d := receivers.taken(r.Name, blk.LabelRanges[0], r.DeclRange); d != nil {
				diags = append(diags, d)
				continue
			}
			m.Receivers = append(m.Receivers, r)
		case "smtp":
			if smtpBlock != nil {
				diags = append(diags, lang.DuplicateDiag("smtp block", "smtp", blk.DefRange, smtpBlock.DefRange))
				continue
			}
			smtpBlock = blk
			s, moreDiags := e.smtp(blk)
			diags = append(diags, moreDiags...)
			m.SMTP = s
		case "rule":
			r, moreDiags := e.alertRule(blk)
			diags = append(diags, moreDiags...)
			if d := rules.taken(r.Name, blk.LabelRanges[0], r.DeclRange); d != nil {
				diags = append(diags, d)
				continue
			}
			m.Rules = append(m.Rules, r)
		}
	}
	sort.Slice(m.Receivers, func(i, j int) bool { return m.Receivers[i].Name < m.Receivers[j].Name })
	sort.Slice(m.Rules, func(i, j int) bool { return m.Rules[i].Name < m.Rules[j].Name })
	for _, r := range m.Receivers {
		if r.Email != "" && m.SMTP == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "E-mail receiver without a mail server",
				Detail:   fmt.Sprintf("Receiver %q sends e-mail, so the metrics block needs an smtp { smarthost = \"mail.example.org:587\"  from = \"sovereign@example.org\" } block saying how.", r.Name),
				Subject:  r.DeclRange.Ptr(),
			})
		}
	}
	return m, append(diags, a.Diags...)
}

func (e *evaluator) receiver(b *hcl.Block) (*spec.Receiver, hcl.Diagnostics) {
	content, diags := b.Body.Content(receiverSchema)
	a := e.Attrs(b, content, receiverSchema)
	r := &spec.Receiver{Name: b.Labels[0], Webhook: a.Str("webhook", ""), Email: a.Str("email", ""), DeclRange: b.DefRange}
	if !metricsName.MatchString(r.Name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid receiver name",
			Detail:   fmt.Sprintf("%q is not a receiver name: a letter, then up to 63 letters, digits and underscores.", r.Name),
			Subject:  &b.LabelRanges[0],
		})
	}
	if r.Webhook == "" && r.Email == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Receiver without an address",
			Detail:   fmt.Sprintf("Receiver %q says nowhere to send alerts: give it webhook = \"https://…\", email = \"ops@example.org\", or both.", r.Name),
			Subject:  b.DefRange.Ptr(),
		})
	}
	if r.Webhook != "" {
		if u, err := url.Parse(r.Webhook); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !printable(r.Webhook) {
			a.Errorf("webhook", "Invalid webhook", "webhook must be an http:// or https:// URL with a host, not %q.", r.Webhook)
		}
	}
	if r.Email != "" {
		if addr, err := mail.ParseAddress(r.Email); err != nil || addr.Address != r.Email {
			a.Errorf("email", "Invalid e-mail address", "email must be a bare address such as \"ops@example.org\", not %q.", r.Email)
		}
	}
	return r, append(diags, a.Diags...)
}

func (e *evaluator) smtp(b *hcl.Block) (*spec.SMTP, hcl.Diagnostics) {
	content, diags := b.Body.Content(smtpSchema)
	a := e.Attrs(b, content, smtpSchema)
	s := &spec.SMTP{
		Smarthost: a.Str("smarthost", ""),
		From:      a.Str("from", ""),
		Username:  a.Str("username", ""),
		Password:  a.Secret("password"),
		DeclRange: b.DefRange,
	}
	if s.Smarthost != "" && !smarthost.MatchString(s.Smarthost) {
		a.Errorf("smarthost", "Invalid smarthost", "smarthost is the mail server as host:port, such as \"mail.example.org:587\", not %q.", s.Smarthost)
	}
	if s.From != "" {
		if addr, err := mail.ParseAddress(s.From); err != nil || addr.Address != s.From {
			a.Errorf("from", "Invalid e-mail address", "from must be a bare address such as \"sovereign@example.org\", not %q.", s.From)
		}
	}
	if !printable(s.Username) {
		a.Errorf("username", "Invalid username", "username must be one line of printable text without quotes or backslashes.")
	}
	if s.Password != nil && s.Username == "" {
		a.Errorf("password", "Password without a username", "The mail server's password needs the username it belongs to.")
	}
	return s, append(diags, a.Diags...)
}

func (e *evaluator) alertRule(b *hcl.Block) (*spec.AlertRule, hcl.Diagnostics) {
	content, diags := b.Body.Content(alertRuleSchema)
	a := e.Attrs(b, content, alertRuleSchema)
	r := &spec.AlertRule{
		Name:      b.Labels[0],
		Expr:      a.Str("expr", ""),
		For:       a.Duration("for", 5*time.Minute),
		Severity:  a.OneOf("severity", "warning", AlertSeverities...),
		Summary:   a.Str("summary", ""),
		DeclRange: b.DefRange,
		ExprRange: a.Range("expr", b.DefRange),
	}
	if at, ok := content.Attributes["expr"]; ok {
		// A one-line literal keeps byte offsets: a problem inside the
		// expression can then be reported at its own column.
		if tmpl, ok := at.Expr.(*hclsyntax.TemplateExpr); ok && tmpl.IsStringLiteral() && r.ExprRange.Start.Line == r.ExprRange.End.Line &&
			r.ExprRange.End.Byte-r.ExprRange.Start.Byte == len(r.Expr)+2 {
			r.ExprLiteral = true
		}
	}
	if !metricsName.MatchString(r.Name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid rule name",
			Detail:   fmt.Sprintf("%q is not a rule name: a letter, then up to 63 letters, digits and underscores (it becomes the alert's name).", r.Name),
			Subject:  &b.LabelRanges[0],
		})
	}
	if strings.TrimSpace(r.Expr) == "" && a.Has("expr") {
		a.Errorf("expr", "Empty expression", "expr is the PromQL expression that fires the alert while it returns anything.")
	}
	if !printable(r.Summary) {
		a.Errorf("summary", "Invalid summary", "summary must be one line of printable text without quotes or backslashes.")
	}
	if r.For%time.Second != 0 {
		a.Errorf("for", "Invalid duration", "for counts whole seconds, not %s.", r.For)
	}
	return r, append(diags, a.Diags...)
}

// checkAdmins refuses a metrics admin who is not a gateway member: only a
// member can sign in, so a name that is none would open Grafana to nobody,
// and a typo would go unnoticed. Without a gateway nobody reaches Grafana
// from the network, so admins have no meaning there.
func checkAdmins(m *spec.Metrics, gw *spec.Gateway) hcl.Diagnostics {
	if m == nil || len(m.Admins) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	if gw == nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Admins without a gateway",
			Detail:   "admins are gateway members who see the dashboards at https://DOMAIN/grafana/; this blueprint has no gateway block, so Grafana stays on the host's loopback (reach it through an SSH tunnel). Remove admins, or add a gateway.",
			Subject:  m.AdminRanges[0].Ptr(),
		}}
	}
	members := make([]string, len(gw.Members))
	for i, mb := range gw.Members {
		members[i] = mb.Name
	}
	seen := map[string]bool{}
	for i, name := range m.Admins {
		switch {
		case !slices.Contains(members, name):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown member",
				Detail:   fmt.Sprintf("Admin %q is not a gateway member; the members are %s.%s", name, lang.QuoteList(members), lang.Suggest(name, members)),
				Subject:  m.AdminRanges[i].Ptr(),
			})
		case seen[name]:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate admin",
				Detail:   fmt.Sprintf("%q is listed twice in admins.", name),
				Subject:  m.AdminRanges[i].Ptr(),
			})
		}
		seen[name] = true
	}
	m.Admins = slices.Compact(slices.Sorted(slices.Values(m.Admins)))
	return diags
}

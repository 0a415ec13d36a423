package metrics

// The subset of Prometheus's, Alertmanager's and blackbox_exporter's
// configuration files that sovereign writes, as types: the files are
// marshalled from these, never assembled as text. Field names follow each
// project's configuration reference; promtool and amtool check the result
// in the tests.

type prometheusConfig struct {
	Global        promGlobal     `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	Alerting      promAlerting   `yaml:"alerting"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `yaml:"scrape_interval"`
	ScrapeTimeout      string `yaml:"scrape_timeout"`
	EvaluationInterval string `yaml:"evaluation_interval"`
}

type promAlerting struct {
	Alertmanagers []alertmanagerTarget `yaml:"alertmanagers"`
}

type alertmanagerTarget struct {
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type scrapeConfig struct {
	JobName        string              `yaml:"job_name"`
	MetricsPath    string              `yaml:"metrics_path,omitempty"`
	Params         map[string][]string `yaml:"params,omitempty"`
	StaticConfigs  []staticConfig      `yaml:"static_configs"`
	RelabelConfigs []relabelConfig     `yaml:"relabel_configs,omitempty"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

type relabelConfig struct {
	SourceLabels []string `yaml:"source_labels,omitempty"`
	TargetLabel  string   `yaml:"target_label"`
	Replacement  string   `yaml:"replacement,omitempty"`
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name  string      `yaml:"name"`
	Rules []alertRule `yaml:"rules"`
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type alertmanagerConfig struct {
	Global    *amGlobal    `yaml:"global,omitempty"`
	Route     amRoute      `yaml:"route"`
	Receivers []amReceiver `yaml:"receivers"`
}

type amGlobal struct {
	SMTPSmarthost    string `yaml:"smtp_smarthost"`
	SMTPFrom         string `yaml:"smtp_from"`
	SMTPAuthUsername string `yaml:"smtp_auth_username,omitempty"`
	SMTPAuthPassword string `yaml:"smtp_auth_password,omitempty"`
}

type amRoute struct {
	Receiver       string    `yaml:"receiver"`
	GroupBy        []string  `yaml:"group_by,omitempty"`
	GroupWait      string    `yaml:"group_wait,omitempty"`
	GroupInterval  string    `yaml:"group_interval,omitempty"`
	RepeatInterval string    `yaml:"repeat_interval,omitempty"`
	Continue       bool      `yaml:"continue,omitempty"`
	Routes         []amRoute `yaml:"routes,omitempty"`
}

type amReceiver struct {
	Name           string          `yaml:"name"`
	WebhookConfigs []amWebhook     `yaml:"webhook_configs,omitempty"`
	EmailConfigs   []amEmailConfig `yaml:"email_configs,omitempty"`
}

type amWebhook struct {
	URL          string `yaml:"url"`
	SendResolved bool   `yaml:"send_resolved"`
}

type amEmailConfig struct {
	To           string `yaml:"to"`
	SendResolved bool   `yaml:"send_resolved"`
}

type blackboxConfig struct {
	Modules map[string]blackboxModule `yaml:"modules"`
}

type blackboxModule struct {
	Prober  string       `yaml:"prober"`
	Timeout string       `yaml:"timeout"`
	ICMP    blackboxICMP `yaml:"icmp"`
}

type blackboxICMP struct {
	PreferredIPProtocol string `yaml:"preferred_ip_protocol"`
}

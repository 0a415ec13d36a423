// Package report is what the boot test's host side and its in-guest probe
// exchange: the probe's instructions (Config, written into the guest) and
// what it saw (Report, read back from the guest's second serial port). The
// probe only observes; the test on the host judges.
package report

// ConfigPath is where the host puts the probe's Config in the guest.
const ConfigPath = "/usr/local/lib/sovereign-boot-test/probe.json"

// Config tells the probe what to look at.
type Config struct {
	// Units are the appliance's units, by their systemd name (a Quadlet's
	// .container named as the .service its generator makes).
	Units []string `json:"units"`
	// Enabled are the units the appliance enables at first boot through
	// presets (Ignition's for its enabled units, sovereign's for the OS's):
	// systemd must call each of them enabled.
	Enabled []string `json:"enabled"`
	// Engine is the engine's service; EngineHealth the URL of its health
	// endpoint as the guest reaches it.
	Engine       string `json:"engine"`
	EngineHealth string `json:"engine_health"`
	// EngineContainer is the engine's container, whose health check the
	// probe runs once itself to time it.
	EngineContainer string `json:"engine_container"`
	// Gateway is the gateway's nginx service.
	Gateway string `json:"gateway"`
	// MemberKey is a member's API key; APIPath a path under the API that
	// needs one (for example /v1/models).
	MemberKey string `json:"member_key"`
	APIPath   string `json:"api_path"`
	// ServedModel is the name the chat completion asks for.
	ServedModel string `json:"served_model"`
	// EngineBecomesHealthy says whether the stand-in engine finishes
	// loading in this scenario; when false the probe watches the gateway
	// for WatchNeverHealthySeconds after it came up, then reports.
	EngineBecomesHealthy     bool `json:"engine_becomes_healthy"`
	WatchNeverHealthySeconds int  `json:"watch_never_healthy_seconds"`
	// ReleaseEngine, when set, is a file the probe writes once it has
	// seen the gateway answer for the loading engine: the stand-in engine
	// finishes loading when it appears.
	ReleaseEngine string `json:"release_engine,omitempty"`
	// DeadlineSeconds bounds the whole probe (from the guest's boot).
	DeadlineSeconds int `json:"deadline_seconds"`
}

// Report is what the probe saw.
type Report struct {
	Podman string `json:"podman"`
	Kernel string `json:"kernel"`
	// FirstBoot says whether systemd took the boot for the machine's first
	// (first-boot-complete.target, ConditionFirstBoot=yes, active): only
	// then does it apply the presets that enable the appliance's units.
	FirstBoot bool `json:"first_boot"`
	// Errors are the probe's own problems (a deadline passed, a command
	// failed); the test fails on any.
	Errors []string `json:"errors,omitempty"`
	// GatewayUp is the guest's uptime when the gateway first answered
	// /health; EngineHealthy when the engine's own health endpoint first
	// answered; EngineActive when systemd first reported the engine's
	// unit active (the health check that gates it passed). Zero: never.
	GatewayUp float64 `json:"gateway_up"`
	// Released is when the probe ended the stand-in engine's load.
	Released      float64 `json:"released,omitempty"`
	EngineHealthy float64 `json:"engine_healthy"`
	EngineActive  float64 `json:"engine_active"`
	// HealthCheckSeconds is how long one run of the engine's health check
	// (podman healthcheck run) took the guest at the end: what each of
	// Podman's checks costs on a CPU as slow as this guest's.
	HealthCheckSeconds float64 `json:"health_check_seconds,omitempty"`
	// Loading is what the gateway answered while the engine was loading;
	// Final what it answered at the end.
	Loading *Snapshot `json:"loading,omitempty"`
	Final   *Snapshot `json:"final,omitempty"`
	// Journal is the boot's warnings and errors and Jobs what systemd was
	// still doing at the end, for diagnosing a failure.
	Journal string `json:"journal"`
	Jobs    string `json:"jobs"`
	// SystemState is what systemctl is-system-running said at the end,
	// once the engine was up.
	SystemState string `json:"system_state,omitempty"`
	// Blame is systemd-analyze blame's slowest units and GatewayChain the
	// critical chain to the gateway: where the boot's time went.
	Blame        string `json:"blame"`
	GatewayChain string `json:"gateway_chain"`
}

// Snapshot is the appliance's state at one moment.
type Snapshot struct {
	Uptime float64 `json:"uptime"`
	Units  []Unit  `json:"units"`
	// Failed are the units `systemctl --failed` lists.
	Failed []string `json:"failed"`
	// Requests are the gateway's answers, by Request.Name.
	Requests []Response `json:"requests"`
}

// Unit is one unit's state as systemctl shows it.
type Unit struct {
	Name string `json:"name"`
	// LoadState is "not-found" for a unit the guest does not have.
	LoadState   string `json:"load_state"`
	ActiveState string `json:"active_state"`
	SubState    string `json:"sub_state"`
	Result      string `json:"result"`
	Type        string `json:"type"`
	// ExecMainStatus is the exit status of the main process (for oneshots).
	ExecMainStatus string `json:"exec_main_status"`
	// Enabled is what `systemctl is-enabled` says: "enabled", "disabled",
	// "static", "generated" (a Quadlet's), "not-found"...
	Enabled string `json:"enabled"`
	// Started says whether the unit ever left the inactive state this boot
	// (a oneshot that ran and exited is inactive again, but started).
	Started bool `json:"started"`
	// TriggeredBy are the timers or paths that start the unit.
	TriggeredBy string `json:"triggered_by"`
}

// Response is one HTTP answer of the gateway.
type Response struct {
	Name        string `json:"name"`
	URL         string `json:"url"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	RetryAfter  string `json:"retry_after"`
	Location    string `json:"location"`
	Body        string `json:"body"`
	Err         string `json:"err,omitempty"`
}

// Names of the requests the probe makes in each snapshot.
const (
	HealthHTTP     = "health over http"
	HealthHTTPS    = "health over https"
	NoKey          = "api without a key"
	MemberKey      = "api with a member key"
	WrongKey       = "api with a wrong key"
	MemberChat     = "chat completion with a member key"
	SignInRedirect = "browser without a session"
)

package wan

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Defaults for what the wan block leaves unset. NetworkManager's own
// connectivity interval is 300 s, far too slow for an appliance whose
// members notice a dead uplink in seconds.
const (
	DefaultFailoverTime  = 60 * time.Second
	DefaultCheckInterval = 30 * time.Second
	DefaultCheckTimeout  = 10 * time.Second
	// DefaultCheckURI is Fedora's own connectivity check, which Fedora's
	// NetworkManager-config-connectivity-fedora package uses.
	DefaultCheckURI      = "http://fedoraproject.org/static/hotspot.txt"
	DefaultCheckResponse = "OK"
)

// Failover mechanisms.
const (
	// FailoverNetworkManager: NetworkManager's connectivity check alone;
	// a device that fails it gets +20000 on its default route metric.
	FailoverNetworkManager = "networkmanager"
	// FailoverProbe: an active probe service pings through each uplink and
	// moves route metrics itself, within FailoverTime.
	FailoverProbe = "probe"
)

// Probe tuning. A ping waits ProbeTimeout for an answer; an uplink is
// demoted after ProbeFailures failed rounds in a row and restored after
// ProbeRecoveries good ones. Uplinks are probed in parallel; within one,
// targets are tried one after another until one answers.
const (
	ProbeTimeout    = time.Second
	ProbeFailures   = 3
	ProbeRecoveries = 3
	// MetricChangeTime is what moving a route metric costs (nmcli device
	// modify): well under a second, budgeted as one.
	MetricChangeTime = time.Second
)

// Settings is the wan block as the appliance runs it: a copy of what the
// blueprint said with the defaults above in place of what it left unset.
// Everything that renders or prints the wan block reads it, so the
// defaults are applied in one place.
type Settings struct {
	spec.WAN
	// Response is the check's expected answer (Check.Response is the
	// blueprint's, nil when unset).
	Response string
}

// Resolve applies the defaults to w and checks that the uplinks can fail
// over within its failover time. It returns nil for a blueprint without a
// wan block.
func Resolve(w *spec.WAN) (*Settings, hcl.Diagnostics) {
	if w == nil {
		return nil, nil
	}
	s := withDefaults(w)
	c := s.Check
	if w.Check.Timeout != 0 && c.Timeout >= c.Interval {
		return s, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Timeout not below interval",
			Detail:   fmt.Sprintf("A check waits at most timeout (%s) and runs every interval (%s): timeout must be shorter.", c.Timeout, c.Interval),
			Subject:  w.Check.TimeoutRange.Ptr(),
		}}
	}
	return s, s.budget()
}

// withDefaults is w with every unset value replaced by its default.
func withDefaults(w *spec.WAN) *Settings {
	s := &Settings{WAN: *w, Response: DefaultCheckResponse}
	c := &s.Check
	if s.FailoverTime == 0 {
		s.FailoverTime = DefaultFailoverTime
	}
	if c.URI == "" {
		c.URI = DefaultCheckURI
	}
	if c.Response != nil {
		s.Response = *c.Response
	}
	if c.Interval == 0 {
		c.Interval = DefaultCheckInterval
	}
	if c.Timeout == 0 {
		// A short interval brings a shorter default wait with it.
		c.Timeout = max(min(DefaultCheckTimeout, (c.Interval/2).Truncate(time.Second)), time.Second)
	}
	return s
}

// budget checks that the uplinks can fail over within failover_time: by
// NetworkManager's own check if it is fast enough, otherwise by the active
// probe, which needs somewhere to ping.
func (s *Settings) budget() hcl.Diagnostics {
	if s.Mechanism() != FailoverProbe {
		return nil
	}
	switch {
	case len(s.Check.Targets) == 0:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No probe targets",
			Detail: fmt.Sprintf("NetworkManager's connectivity check (every %s, waiting up to %s) moves the route only after %s, more than failover_time %s, so an active probe must ping through each uplink. Give it addresses that answer pings: check { targets = [\"1.1.1.1\", \"9.9.9.9\"] }, or raise failover_time.",
				s.Check.Interval, s.Check.Timeout, s.NetworkManagerFailover(), s.FailoverTime),
			Subject: s.FailoverTimeRange.Ptr(),
		}}
	case s.ProbeInterval() < s.MinProbeInterval():
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Failover time too short",
			Detail: fmt.Sprintf("failover_time %s leaves no room for the active probe: it needs %d failed rounds at least %s apart (each of the %d targets waits %s), and %s to move the route, so at least %s. Raise failover_time or list fewer targets.",
				s.FailoverTime, ProbeFailures, s.MinProbeInterval(), len(s.Check.Targets), ProbeTimeout, MetricChangeTime,
				(ProbeFailures+1)*s.MinProbeInterval()+MetricChangeTime),
			Subject: s.FailoverTimeRange.Ptr(),
		}}
	}
	return nil
}

// NetworkManagerFailover is the worst case of NetworkManager's check: the
// uplink dies just after a good check, the next one starts Interval later
// and gives up after Timeout.
func (s *Settings) NetworkManagerFailover() time.Duration {
	return s.Check.Interval + s.Check.Timeout + MetricChangeTime
}

// Mechanism says what meets FailoverTime: NetworkManager alone when its
// check is fast enough, the active probe otherwise.
func (s *Settings) Mechanism() string {
	if s.NetworkManagerFailover() <= s.FailoverTime {
		return FailoverNetworkManager
	}
	return FailoverProbe
}

// probeRound is the longest one round of probes takes: every target of a
// dead uplink timing out.
func (s *Settings) probeRound() time.Duration {
	return time.Duration(max(len(s.Check.Targets), 1)) * ProbeTimeout
}

// MinProbeInterval is the shortest probe period: one round must end before
// the next starts.
func (s *Settings) MinProbeInterval() time.Duration { return s.probeRound() }

// ProbeInterval is the probe period that meets FailoverTime. Worst case: the
// uplink dies just after a good round; ProbeFailures rounds one period apart
// fail, the last after every target timed out; then the metric moves. It is
// rounded down to whole seconds and is below MinProbeInterval when
// FailoverTime is too short for any probe.
func (s *Settings) ProbeInterval() time.Duration {
	room := s.FailoverTime - s.probeRound() - MetricChangeTime
	return (room / ProbeFailures).Truncate(time.Second)
}

// ProbeFailover is the worst-case failover time of the active probe.
func (s *Settings) ProbeFailover() time.Duration {
	return ProbeFailures*s.ProbeInterval() + s.probeRound() + MetricChangeTime
}

// ProbeFailback is how long a recovered uplink waits to carry traffic again.
func (s *Settings) ProbeFailback() time.Duration {
	return ProbeRecoveries*s.ProbeInterval() + MetricChangeTime
}

// Failover is the worst-case time for the mechanism in use.
func (s *Settings) Failover() time.Duration {
	if s.Mechanism() == FailoverNetworkManager {
		return s.NetworkManagerFailover()
	}
	return s.ProbeFailover()
}

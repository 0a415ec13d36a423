package spec

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// WAN is the appliance's internet uplinks and how it fails over between
// them. The uplink with the lowest Priority carries the default route while
// it works; a dead one loses its route within FailoverTime.
type WAN struct {
	Uplinks []*Uplink // by priority, then name
	// FailoverTime is the longest an uplink that is up but dead upstream
	// may keep the default route.
	FailoverTime time.Duration
	Check        Check

	DeclRange         hcl.Range
	FailoverTimeRange hcl.Range
}

// Uplink is one internet connection: an ethernet port (NBN, a router) or a
// cellular modem managed by ModemManager.
type Uplink struct {
	Name      string
	Type      string // "ethernet" or "gsm"
	Interface string // ethernet: the kernel interface name; gsm: unset (any modem)
	Priority  int    // 1 is preferred
	APN       string // gsm: "" means NetworkManager's mobile-broadband auto-config
	// Address is a static IPv4 address with its prefix; invalid (zero)
	// means DHCP, and then Gateway and DNS are unset.
	Address netip.Prefix
	Gateway netip.Addr
	DNS     []netip.Addr

	DeclRange hcl.Range
}

// Check is how uplinks are tested: NetworkManager's connectivity check (an
// HTTP fetch of URI) and, when that alone is too slow for FailoverTime, an
// active probe that pings Targets through each uplink's own interface.
type Check struct {
	URI      string
	Response string
	Interval time.Duration
	Timeout  time.Duration
	Targets  []netip.Addr

	DeclRange hcl.Range
}

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

// NetworkManagerFailover is the worst case of NetworkManager's check: the
// uplink dies just after a good check, the next one starts Interval later
// and gives up after Timeout.
func (w *WAN) NetworkManagerFailover() time.Duration {
	return w.Check.Interval + w.Check.Timeout + MetricChangeTime
}

// Mechanism says what meets FailoverTime: NetworkManager alone when its
// check is fast enough, the active probe otherwise.
func (w *WAN) Mechanism() string {
	if w.NetworkManagerFailover() <= w.FailoverTime {
		return FailoverNetworkManager
	}
	return FailoverProbe
}

// probeRound is the longest one round of probes takes: every target of a
// dead uplink timing out.
func (w *WAN) probeRound() time.Duration {
	return time.Duration(max(len(w.Check.Targets), 1)) * ProbeTimeout
}

// MinProbeInterval is the shortest probe period: one round must end before
// the next starts.
func (w *WAN) MinProbeInterval() time.Duration { return w.probeRound() }

// ProbeInterval is the probe period that meets FailoverTime. Worst case: the
// uplink dies just after a good round; ProbeFailures rounds one period apart
// fail, the last after every target timed out; then the metric moves. It is
// rounded down to whole seconds and is below MinProbeInterval when
// FailoverTime is too short for any probe.
func (w *WAN) ProbeInterval() time.Duration {
	room := w.FailoverTime - w.probeRound() - MetricChangeTime
	return (room / ProbeFailures).Truncate(time.Second)
}

// ProbeFailover is the worst-case failover time of the active probe.
func (w *WAN) ProbeFailover() time.Duration {
	return ProbeFailures*w.ProbeInterval() + w.probeRound() + MetricChangeTime
}

// ProbeFailback is how long a recovered uplink waits to carry traffic again.
func (w *WAN) ProbeFailback() time.Duration {
	return ProbeRecoveries*w.ProbeInterval() + MetricChangeTime
}

// Failover is the worst-case time for the mechanism in use.
func (w *WAN) Failover() time.Duration {
	if w.Mechanism() == FailoverNetworkManager {
		return w.NetworkManagerFailover()
	}
	return w.ProbeFailover()
}

// Metric is the route metric of an uplink: 100 per priority step, so the
// preferred uplink has the lowest and NetworkManager's +20000 penalty, or
// the probe's, puts a failed one behind every working one.
func (u *Uplink) Metric() int { return 100 * u.Priority }

// DemotedMetric is an uplink's metric while it fails its check.
func (u *Uplink) DemotedMetric() int { return u.Metric() + 20000 }

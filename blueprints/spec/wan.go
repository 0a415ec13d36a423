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
	// may keep the default route; zero when the blueprint sets none (the
	// wan module then applies its default).
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
// active probe that pings Targets through each uplink's own interface. It
// holds what the blueprint said: an empty URI, a nil Response or a zero
// duration is a setting left to the wan module's defaults.
type Check struct {
	URI      string
	Response *string // nil when unset; "" is NetworkManager's empty answer
	Interval time.Duration
	Timeout  time.Duration
	Targets  []netip.Addr

	DeclRange    hcl.Range
	TimeoutRange hcl.Range
}

// Metric is the route metric of an uplink: 100 per priority step, so the
// preferred uplink has the lowest and NetworkManager's +20000 penalty, or
// the probe's, puts a failed one behind every working one.
func (u *Uplink) Metric() int { return 100 * u.Priority }

// DemotedMetric is an uplink's metric while it fails its check.
func (u *Uplink) DemotedMetric() int { return u.Metric() + 20000 }

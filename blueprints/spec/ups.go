package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// UPS is the uninterruptible power supply the appliance is plugged into,
// watched by NUT on the host, and what the appliance does on battery: drain
// the gateway, stop the engines, power off before the battery runs out.
type UPS struct {
	Name        string
	Driver      string // NUT driver: "usbhid-ups" by default
	Port        string // "auto" for USB
	VendorID    string // optional USB IDs that pick one UPS among several
	ProductID   string
	Description string
	// Watts is the UPS's rated output; 0 when not declared.
	Watts int
	// Runtime is how long the battery carries the appliance at full load.
	Runtime time.Duration
	// Password authenticates upsmon to upsd. Nil: the host generates one
	// on first boot, so it never appears in the build output.
	Password *Secret

	OnBattery OnBattery

	DeclRange    hcl.Range
	WattsRange   hcl.Range
	RuntimeRange hcl.Range
}

// OnBattery is the timeline after the power fails, counted from the moment
// the UPS reports it is on battery.
type OnBattery struct {
	// DrainAfter: the gateway's drain flag goes up (new requests get 503,
	// streams in flight finish). Power back before then: nothing happened.
	DrainAfter time.Duration
	// StopEnginesWithin: after draining starts, engines stop as soon as
	// they are idle, and at the latest this long after.
	StopEnginesWithin time.Duration
	// ShutdownAfter: upsmon -c fsd, and the host powers off.
	ShutdownAfter time.Duration
	// OSShutdown is how long powering off takes once it has begun.
	OSShutdown time.Duration

	DeclRange          hcl.Range
	DrainAfterRange    hcl.Range
	ShutdownAfterRange hcl.Range
}

// Fixed parts of the on-battery timeline.
const (
	// EngineStopTimeout is the longest an engine unit takes to stop
	// (the engine modules' TimeoutStopSec).
	EngineStopTimeout = 90 * time.Second
	// FinalDelay is upsmon's FINALDELAY: its wait between the shutdown
	// notice and SHUTDOWNCMD.
	FinalDelay = 5 * time.Second
	// DetectionDelay is how late upsmon may notice the UPS went on battery:
	// the driver's poll (2 s) plus upsmon's POLLFREQ (2 s).
	DetectionDelay = 4 * time.Second
)

// Budget is the worst case of the on-battery timeline, to compare with the
// battery's runtime.
type Budget struct {
	Detection    time.Duration // upsmon sees the power failure
	EnginesDown  time.Duration // every engine stopped, at the latest
	PowerOffFrom time.Duration // the shutdown starts
	PowerOff     time.Duration // the host is off
}

// Budget returns the worst-case timeline: engines still stopping when the
// shutdown starts delay it by what is left of their stop.
func (u *UPS) Budget() Budget {
	ob := u.OnBattery
	b := Budget{Detection: DetectionDelay}
	b.EnginesDown = DetectionDelay + ob.DrainAfter + ob.StopEnginesWithin + EngineStopTimeout
	b.PowerOffFrom = DetectionDelay + ob.ShutdownAfter + FinalDelay
	b.PowerOff = max(b.EnginesDown, b.PowerOffFrom) + ob.OSShutdown
	return b
}

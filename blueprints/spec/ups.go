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
	Driver      string // NUT driver; "" when unset
	Port        string // "auto" for USB or a device path; "" when unset
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
// the UPS reports it is on battery. It holds what the blueprint said: a zero
// duration is a setting left to the ups module's defaults.
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

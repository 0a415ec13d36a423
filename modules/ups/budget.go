package ups

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Defaults for what the ups block leaves unset: a minute of battery before
// anything changes (most outages on an Australian line are shorter), two
// minutes for streams to finish, power off five minutes in.
const (
	DefaultDriver            = "usbhid-ups"
	DefaultDevicePort        = "auto" // USB
	DefaultDrainAfter        = 60 * time.Second
	DefaultStopEnginesWithin = 120 * time.Second
	DefaultShutdownAfter     = 300 * time.Second
	DefaultOSShutdown        = 60 * time.Second
)

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

// Settings is the ups block as the appliance runs it: a copy of what the
// blueprint said with the defaults above in place of what it left unset.
// Everything that renders or prints the ups block reads it, so the
// defaults are applied in one place.
type Settings struct {
	spec.UPS
}

// Budget is the worst case of the on-battery timeline, to compare with the
// battery's runtime.
type Budget struct {
	Detection    time.Duration // upsmon sees the power failure
	EnginesDown  time.Duration // every engine stopped, at the latest
	PowerOffFrom time.Duration // the shutdown starts
	PowerOff     time.Duration // the host is off
}

// Resolve applies the defaults to u and checks that the on-battery
// timeline ends before the battery does. It returns nil for a blueprint
// without a ups block.
func Resolve(u *spec.UPS) (*Settings, hcl.Diagnostics) {
	if u == nil {
		return nil, nil
	}
	s := withDefaults(u)
	if s.Runtime == 0 {
		return s, nil
	}
	ob := s.OnBattery
	if ob.DrainAfter >= ob.ShutdownAfter {
		return s, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Shutdown before drain",
			Detail:   fmt.Sprintf("shutdown_after (%s) must be later than drain_after (%s): the gateway drains and the engines stop before the host powers off.", ob.ShutdownAfter, ob.DrainAfter),
			Subject:  ob.ShutdownAfterRange.Ptr(),
		}}
	}
	if bud := s.Budget(); bud.PowerOff > s.Runtime {
		return s, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "The battery runs out before the shutdown ends",
			Detail: fmt.Sprintf("On battery the appliance is off %s after the power fails at the latest, but the UPS carries it for %s. Timeline: upsmon notices within %s; draining starts at drain_after %s; engines stop when idle or within %s, each taking up to %s; power-off starts at shutdown_after %s plus upsmon's %s final delay; it takes os_shutdown %s. Shorten shutdown_after (and drain_after, stop_engines_within), or declare a UPS with more runtime.",
				bud.PowerOff, s.Runtime, DetectionDelay, ob.DrainAfter, ob.StopEnginesWithin, EngineStopTimeout, ob.ShutdownAfter, FinalDelay, ob.OSShutdown),
			Subject: ob.ShutdownAfterRange.Ptr(),
		}}
	}
	return s, nil
}

// withDefaults is u with every unset value replaced by its default.
func withDefaults(u *spec.UPS) *Settings {
	s := &Settings{UPS: *u}
	if s.Driver == "" {
		s.Driver = DefaultDriver
	}
	if s.Port == "" {
		s.Port = DefaultDevicePort
	}
	ob := &s.OnBattery
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&ob.DrainAfter, DefaultDrainAfter}, {&ob.StopEnginesWithin, DefaultStopEnginesWithin},
		{&ob.ShutdownAfter, DefaultShutdownAfter}, {&ob.OSShutdown, DefaultOSShutdown},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	return s
}

// Budget returns the worst-case timeline: engines still stopping when the
// shutdown starts delay it by what is left of their stop.
func (s *Settings) Budget() Budget {
	ob := s.OnBattery
	b := Budget{Detection: DetectionDelay}
	b.EnginesDown = DetectionDelay + ob.DrainAfter + ob.StopEnginesWithin + EngineStopTimeout
	b.PowerOffFrom = DetectionDelay + ob.ShutdownAfter + FinalDelay
	b.PowerOff = max(b.EnginesDown, b.PowerOffFrom) + ob.OSShutdown
	return b
}

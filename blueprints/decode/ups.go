package decode

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var upsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "driver"},
		{Name: "port"},
		{Name: "vendor_id"},
		{Name: "product_id"},
		{Name: "description"},
		{Name: "watts"},
		{Name: "runtime", Required: true},
		{Name: "password"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "on_battery"},
	},
}

var onBatterySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "drain_after"},
		{Name: "stop_engines_within"},
		{Name: "shutdown_after"},
		{Name: "os_shutdown"},
	},
}

var (
	upsDriver = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	usbID     = regexp.MustCompile(`^[0-9a-fA-F]{4}$`)
	// upsName is what NUT accepts as a section name in ups.conf.
	upsName     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)
	upsPassword = regexp.MustCompile(`^[A-Za-z0-9._-]{12,64}$`)
)

func (e *evaluator) ups(b *hcl.Block, hw catalog.Hardware) (*spec.UPS, hcl.Diagnostics) {
	content, diags := b.Body.Content(upsSchema)
	a := e.Attrs(b, content, upsSchema)
	u := &spec.UPS{
		Name:         b.Labels[0],
		Driver:       a.Str("driver", ""),
		Port:         a.Str("port", ""),
		VendorID:     a.Str("vendor_id", ""),
		ProductID:    a.Str("product_id", ""),
		Description:  a.Str("description", ""),
		Watts:        a.Integer("watts", 0, 1, 1_000_000),
		Runtime:      a.Duration("runtime", 0),
		Password:     a.Secret("password"),
		DeclRange:    b.DefRange,
		WattsRange:   a.Range("watts", b.DefRange),
		RuntimeRange: a.Range("runtime", b.DefRange),
		OnBattery: spec.OnBattery{
			DeclRange: b.DefRange, DrainAfterRange: b.DefRange, ShutdownAfterRange: b.DefRange,
		},
	}
	if !upsName.MatchString(u.Name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid UPS name",
			Detail:   fmt.Sprintf("%q is not a NUT UPS name: up to 31 lowercase letters, digits, dashes and underscores, starting with a letter or digit.", u.Name),
			Subject:  &b.LabelRanges[0],
		})
	}
	if u.Password != nil && !upsPassword.MatchString(u.Password.Value) {
		a.Errorf("password", "Unusable UPS password", "The password must be 12 to 64 letters, digits, dots, dashes and underscores: NUT's configuration files cannot quote anything else. Leave password unset and the host generates one.")
	}
	if a.Has("driver") && !upsDriver.MatchString(u.Driver) {
		a.Errorf("driver", "Invalid driver", "%q is not a NUT driver name such as \"usbhid-ups\", \"blazer_usb\" or \"nutdrv_qx\".", u.Driver)
	}
	if a.Has("port") && (u.Port == "" || !printable(u.Port)) {
		a.Errorf("port", "Invalid port", "port must be \"auto\" for USB or a device path such as \"/dev/ttyS0\", not %q.", u.Port)
	}
	for _, id := range []string{"vendor_id", "product_id"} {
		if v := a.Str(id, ""); v != "" && !usbID.MatchString(v) {
			a.Errorf(id, "Invalid USB ID", "%s must be four hex digits as lsusb shows them, such as \"0463\", not %q.", id, v)
		}
	}
	if !printable(u.Description) {
		a.Errorf("description", "Invalid description", "description must be one line of printable text without quotes or backslashes.")
	}
	if u.Watts > 0 && hw.TDPWatts > 0 && u.Watts < hw.TDPWatts {
		a.Errorf("watts", "UPS too small", "A %d W UPS cannot carry %s, which draws up to %d W: it would overload and drop the load the moment the power fails.", u.Watts, hw.Name, hw.TDPWatts)
	}
	for _, blk := range content.Blocks {
		if u.OnBattery.DeclRange != b.DefRange {
			diags = append(diags, lang.DuplicateDiag("on_battery block", "on_battery", blk.DefRange, u.OnBattery.DeclRange))
			continue
		}
		ob, moreDiags := e.onBattery(blk)
		diags = append(diags, moreDiags...)
		u.OnBattery = ob
	}
	// The ups module applies the defaults and checks the on-battery
	// timeline against the runtime (ups.Resolve).
	return u, append(diags, a.Diags...)
}

func (e *evaluator) onBattery(b *hcl.Block) (spec.OnBattery, hcl.Diagnostics) {
	content, diags := b.Body.Content(onBatterySchema)
	a := e.Attrs(b, content, onBatterySchema)
	ob := spec.OnBattery{
		DrainAfter:         a.Duration("drain_after", 0),
		StopEnginesWithin:  a.Duration("stop_engines_within", 0),
		ShutdownAfter:      a.Duration("shutdown_after", 0),
		OSShutdown:         a.Duration("os_shutdown", 0),
		DeclRange:          b.DefRange,
		DrainAfterRange:    a.Range("drain_after", b.DefRange),
		ShutdownAfterRange: a.Range("shutdown_after", b.DefRange),
	}
	// upssched timers count whole seconds.
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"drain_after", ob.DrainAfter}, {"stop_engines_within", ob.StopEnginesWithin}, {"shutdown_after", ob.ShutdownAfter}, {"os_shutdown", ob.OSShutdown}} {
		if d.v%time.Second != 0 {
			a.Errorf(d.name, "Invalid duration", "%s counts whole seconds, not %s.", d.name, d.v)
		}
	}
	return ob, append(diags, a.Diags...)
}

// printable reports whether s is safe inside a double-quoted NUT setting.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

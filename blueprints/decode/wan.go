package decode

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var wanSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "failover_time"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "uplink", LabelNames: []string{"name"}},
		{Type: "check"},
	},
}

var uplinkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "interface"},
		{Name: "priority", Required: true},
		{Name: "apn"},
		{Name: "address"},
		{Name: "gateway"},
		{Name: "dns"},
	},
}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "uri"},
		{Name: "response"},
		{Name: "interval"},
		{Name: "timeout"},
		{Name: "targets"},
	},
}

// UplinkTypes are the kinds of uplink the wan block renders.
var UplinkTypes = []string{"ethernet", "gsm"}

var (
	interfaceName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$`)
	apnName       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$`)
)

func (e *evaluator) wan(b *hcl.Block) (*spec.WAN, hcl.Diagnostics) {
	content, diags := b.Body.Content(wanSchema)
	a := e.Attrs(b, content, wanSchema)
	w := &spec.WAN{
		FailoverTime:      a.Duration("failover_time", 0),
		DeclRange:         b.DefRange,
		FailoverTimeRange: a.Range("failover_time", b.DefRange),
		Check:             spec.Check{DeclRange: b.DefRange, TimeoutRange: b.DefRange},
	}
	uplinks := names{"uplink", map[string]hcl.Range{}}
	priorities := map[int]*spec.Uplink{}
	interfaces := map[string]*spec.Uplink{}
	var checkRange *hcl.Range
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "uplink":
			u, moreDiags := e.uplink(blk)
			diags = append(diags, moreDiags...)
			if d := uplinks.taken(u.Name, blk.LabelRanges[0], u.DeclRange); d != nil {
				diags = append(diags, d)
				continue
			}
			if prev, ok := priorities[u.Priority]; ok && u.Priority > 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Two uplinks with one priority",
					Detail:   fmt.Sprintf("Uplink %q already has priority %d (%s). Give each uplink its own priority: the lowest carries the traffic while it works.", prev.Name, u.Priority, prev.DeclRange),
					Subject:  blk.DefRange.Ptr(),
				})
			}
			priorities[u.Priority] = u
			if u.Interface != "" {
				if prev, ok := interfaces[u.Interface]; ok {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Two uplinks on one interface",
						Detail:   fmt.Sprintf("Uplink %q already uses interface %q (%s).", prev.Name, u.Interface, prev.DeclRange),
						Subject:  blk.DefRange.Ptr(),
					})
				}
				interfaces[u.Interface] = u
			}
			w.Uplinks = append(w.Uplinks, u)
		case "check":
			if checkRange != nil {
				diags = append(diags, lang.DuplicateDiag("check block", "check", blk.DefRange, *checkRange))
				continue
			}
			checkRange = blk.DefRange.Ptr()
			c, moreDiags := e.check(blk)
			diags = append(diags, moreDiags...)
			w.Check = c
		}
	}
	sort.Slice(w.Uplinks, func(i, j int) bool {
		if w.Uplinks[i].Priority != w.Uplinks[j].Priority {
			return w.Uplinks[i].Priority < w.Uplinks[j].Priority
		}
		return w.Uplinks[i].Name < w.Uplinks[j].Name
	})
	diags = append(diags, a.Diags...)
	if len(w.Uplinks) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No uplink",
			Detail:   `A wan block needs at least one uplink: uplink "nbn" { interface = "enp1s0"  priority = 1 }.`,
			Subject:  b.DefRange.Ptr(),
		})
	}
	return w, diags
}

func (e *evaluator) uplink(b *hcl.Block) (*spec.Uplink, hcl.Diagnostics) {
	content, diags := b.Body.Content(uplinkSchema)
	a := e.Attrs(b, content, uplinkSchema)
	u := &spec.Uplink{
		Name:      b.Labels[0],
		Type:      a.OneOf("type", "ethernet", UplinkTypes...),
		Interface: a.Str("interface", ""),
		Priority:  a.Integer("priority", 0, 1, 99),
		APN:       a.Str("apn", ""),
		DeclRange: b.DefRange,
	}
	if !lang.ValidName(u.Name) {
		diags = append(diags, invalidNameDiag("uplink", u.Name, b.LabelRanges[0]))
	}
	if u.Interface != "" && !interfaceName.MatchString(u.Interface) {
		a.Errorf("interface", "Invalid interface name", "%q is not a Linux network interface name: up to 15 letters, digits, dots, dashes and underscores.", u.Interface)
	}
	switch u.Type {
	case "ethernet":
		if !a.Has("interface") {
			a.Required("interface", b, ` for an ethernet uplink: the port it is plugged into, such as "enp1s0"`)
		}
		if a.Has("apn") {
			a.Errorf("apn", "APN on an ethernet uplink", "apn is for type = \"gsm\" uplinks (a cellular modem).")
		}
	case "gsm":
		if a.Has("interface") {
			a.Errorf("interface", "Interface on a gsm uplink", "A gsm uplink uses whichever modem ModemManager finds; its interface name is chosen by the modem driver. Leave interface unset.")
		}
		if u.APN != "" && !apnName.MatchString(u.APN) {
			a.Errorf("apn", "Invalid APN", "%q is not an access point name such as \"telstra.internet\".", u.APN)
		}
		for _, name := range []string{"address", "gateway", "dns"} {
			if a.Has(name) {
				a.Errorf(name, "Static address on a gsm uplink", "The mobile network assigns a gsm uplink's address; %s is for ethernet uplinks.", name)
			}
		}
	}
	if s := a.Str("address", ""); s != "" {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil || !p.Addr().Is4():
			a.Errorf("address", "Invalid address", "address must be an IPv4 address with its prefix length, such as \"203.0.113.2/30\", not %q.", s)
		case p.Bits() == 32 || p.Addr() == p.Masked().Addr():
			a.Errorf("address", "Invalid address", "%q is a network, not a host address on it.", s)
		default:
			u.Address = p
		}
	}
	if s := a.Str("gateway", ""); s != "" {
		g, err := netip.ParseAddr(s)
		switch {
		case err != nil || !g.Is4():
			a.Errorf("gateway", "Invalid gateway", "gateway must be an IPv4 address, not %q.", s)
		case u.Address.IsValid() && !u.Address.Masked().Contains(g):
			a.Errorf("gateway", "Gateway off the subnet", "%s is not on %s, so the uplink could not reach it.", g, u.Address.Masked())
		default:
			u.Gateway = g
		}
	}
	for _, s := range a.Strings("dns") {
		d, err := netip.ParseAddr(s)
		if err != nil {
			a.Errorf("dns", "Invalid DNS server", "%q is not an IP address.", s)
			continue
		}
		u.DNS = append(u.DNS, d)
	}
	if !a.Diags.HasErrors() && u.Type == "ethernet" {
		switch {
		case u.Address.IsValid() && !u.Gateway.IsValid():
			a.Required("gateway", b, " with a static address: the uplink's default route goes through it")
		case !u.Address.IsValid() && (a.Has("gateway") || a.Has("dns")):
			a.Required("address", b, " with gateway or dns: without address the uplink uses DHCP, which supplies both")
		}
	}
	return u, append(diags, a.Diags...)
}

func (e *evaluator) check(b *hcl.Block) (spec.Check, hcl.Diagnostics) {
	content, diags := b.Body.Content(checkSchema)
	a := e.Attrs(b, content, checkSchema)
	c := spec.Check{
		URI:          a.Str("uri", ""),
		Interval:     a.Duration("interval", 0),
		Timeout:      a.Duration("timeout", 0),
		DeclRange:    b.DefRange,
		TimeoutRange: a.Range("timeout", b.DefRange),
	}
	if a.Has("response") {
		// Set but empty is a setting of its own: NetworkManager then
		// expects an empty answer (or 204).
		r := a.Str("response", "")
		c.Response = &r
	}
	if u, err := url.Parse(c.URI); a.Has("uri") && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		a.Errorf("uri", "Invalid check URI", "uri must be an http:// or https:// URL that answers with response, not %q. Plain http lets NetworkManager also detect captive portals.", c.URI)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}} {
		if d.v%time.Second != 0 {
			a.Errorf(d.name, "Invalid duration", "NetworkManager counts %s in whole seconds, not %s.", d.name, d.v)
		}
	}
	for _, s := range a.Strings("targets") {
		t, err := netip.ParseAddr(s)
		if err != nil || !t.Is4() {
			a.Errorf("targets", "Invalid probe target", "%q is not an IPv4 address. The probe pings addresses, so it needs no DNS to tell a dead uplink from a live one.", s)
			continue
		}
		c.Targets = append(c.Targets, t)
	}
	return c, append(diags, a.Diags...)
}

// resilience decodes the optional wan and ups blocks: at most one of each
// (one set of uplinks, one UPS the host powers off by).
func (e *evaluator) resilience(src *lang.Source, app *spec.Appliance, diags hcl.Diagnostics) (*spec.WAN, *spec.UPS, hcl.Diagnostics) {
	var w *spec.WAN
	for i, b := range src.Blocks("wan") {
		if i > 0 {
			diags = append(diags, lang.DuplicateDiag("wan block", "wan", b.DefRange, src.Blocks("wan")[0].DefRange))
			continue
		}
		var moreDiags hcl.Diagnostics
		w, moreDiags = e.wan(b)
		diags = append(diags, moreDiags...)
	}
	var u *spec.UPS
	for i, b := range src.Blocks("ups") {
		if i > 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "More than one ups",
				Detail:   fmt.Sprintf("The appliance powers off by one UPS, declared at %s. A second power supply on another UPS is not supported yet.", src.Blocks("ups")[0].DefRange),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		var hw catalog.Hardware
		if app != nil {
			hw = app.Hardware
		}
		var moreDiags hcl.Diagnostics
		u, moreDiags = e.ups(b, hw)
		diags = append(diags, moreDiags...)
	}
	return w, u, diags
}

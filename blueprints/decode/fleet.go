package decode

import (
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// A fleet blueprint describes several hosts behind one gateway:
//
//	fleet "coop" {
//	  gateway_host = "station"
//	  link { network = "10.77.0.0/24" }
//	}
//	host "station" {
//	  address     = "10.77.0.1"
//	  endpoint    = "station.example.org"
//	  private_key = secret_file("link/station.key")
//	  appliance "station" { … }   # and model, engine, module, wan, ups, metrics, os
//	}
//
// Each host is decoded as the single-host blueprint its own blocks and the
// blueprint's shared blocks (every top-level block but fleet and host, the
// gateway only for the gateway host) would make, so a host's appliance is
// built by the same code as a single machine's.

var fleetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "gateway_host", Required: true},
		{Name: "router"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "link"}},
}

var linkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "network", Required: true},
		{Name: "port"},
		{Name: "interface"},
		{Name: "keepalive"},
	},
}

// hostSchema is a host block: where it is on the link, and the blocks a
// single-host blueprint holds about its machine.
var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true},
		{Name: "endpoint"},
		{Name: "private_key", Required: true},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "appliance", LabelNames: []string{"name"}},
		{Type: "model", LabelNames: []string{"name"}},
		{Type: "engine", LabelNames: []string{"kind", "name"}},
		{Type: "module", LabelNames: []string{"name"}},
		{Type: "wan"},
		{Type: "ups", LabelNames: []string{"name"}},
		{Type: "metrics"},
		{Type: "os"},
	},
}

// hostName is a host's name: it names its output folder and its
// WireGuard peer section's comment.
var hostName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// linkInterface is a kernel interface name (at most 15 bytes).
var linkInterface = regexp.MustCompile(`^[a-z][a-z0-9-]{0,14}$`)

// IsFleet reports whether the blueprint at target describes several hosts
// (has host or fleet blocks). A blueprint that does not parse is not one;
// loading it reports why.
func (p *Loader) IsFleet(target string) bool {
	// A parser of its own: p's caches each file it parses, and would not
	// report a syntax error again to the Load that follows.
	peek := lang.NewParser(p.Fs(), p.Engines)
	src, _ := peek.Parse(target)
	return src != nil && (len(src.Blocks("host")) > 0 || len(src.Blocks("fleet")) > 0)
}

// fleetBlocksRefused is Load's error for a fleet blueprint.
func fleetBlocksRefused(src *lang.Source) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range append(src.Blocks("fleet"), src.Blocks("host")...) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "A blueprint of several hosts",
			Detail:   "This blueprint describes a fleet (fleet and host blocks); `sovereign build` and `sovereign plan` take it, and this command does not yet.",
			Subject:  b.DefRange.Ptr(),
		})
	}
	return diags
}

// LoadFleet parses the fleet blueprint at target, evaluates it with in and
// returns every host as an appliance of its own. When the diagnostics
// include errors the fleet is nil.
func (p *Loader) LoadFleet(target string, in lang.Inputs) (*spec.Fleet, hcl.Diagnostics) {
	f, diags := p.loadFleet(target, in)
	return f, lang.SortDiagnostics(lang.CutLongValues(dedupeDiagnostics(diags)))
}

func (p *Loader) loadFleet(target string, in lang.Inputs) (*spec.Fleet, hcl.Diagnostics) {
	src, diags := p.Parse(target)
	if src == nil || diags.HasErrors() {
		return nil, diags
	}
	ev := &evaluator{lang.NewEvaluator(p.Parser, src.BaseDir, in)}
	moreDiags := ev.EvaluateValues(src, in)
	if diags = append(diags, moreDiags...); moreDiags.HasErrors() {
		return nil, diags
	}
	if moreDiags = p.LoadModules(src, ev.Evaluator, in, []string{src.BaseDir}); moreDiags.HasErrors() {
		return nil, append(diags, moreDiags...)
	}
	diags = append(diags, moreDiags...)
	fleet, moreDiags := ev.fleetBlock(src)
	if diags = append(diags, moreDiags...); moreDiags.HasErrors() {
		return nil, diags
	}
	hostBlocks := map[*spec.Host]*hcl.Block{}
	for _, b := range src.Blocks("host") {
		h, moreDiags := ev.host(b, fleet, hostBlocks)
		diags = append(diags, moreDiags...)
		if h != nil {
			hostBlocks[h] = b
			fleet.Hosts = append(fleet.Hosts, h)
		}
	}
	sort.Slice(fleet.Hosts, func(i, j int) bool { return fleet.Hosts[i].Name < fleet.Hosts[j].Name })
	diags = append(diags, pickGateway(fleet, src)...)
	diags = append(diags, checkEndpoints(fleet, hostBlocks)...)
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, p.fleetHosts(src, ev, in, fleet, hostBlocks)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return fleet, diags
}

// fleetBlock decodes the one fleet block.
func (e *evaluator) fleetBlock(src *lang.Source) (*spec.Fleet, hcl.Diagnostics) {
	blocks := src.Blocks("fleet")
	if len(blocks) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No fleet block",
			Detail:   `A blueprint with host blocks needs a fleet block saying which host runs the gateway and what the private link is: fleet "NAME" { gateway_host = "HOST"  link { network = "10.77.0.0/24" } }.`,
			Subject:  src.Blocks("host")[0].DefRange.Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	for _, extra := range blocks[1:] {
		diags = append(diags, lang.DuplicateDiag("fleet block", "fleet", extra.DefRange, blocks[0].DefRange))
	}
	b := blocks[0]
	content, moreDiags := b.Body.Content(fleetSchema)
	diags = append(diags, moreDiags...)
	a := e.Attrs(b, content, fleetSchema)
	f := &spec.Fleet{Name: b.Labels[0], DeclRange: b.DefRange}
	f.Router = a.OneOf("router", spec.RouterNginx, spec.RouterNginx, spec.RouterLLMD)
	f.RouterRange = a.Range("router", b.DefRange)
	gatewayHost := a.Str("gateway_host", "")
	f.GatewayHost = &spec.Host{Name: gatewayHost, DeclRange: a.Range("gateway_host", b.DefRange)}
	links := content.Blocks // link is its only block type
	switch {
	case len(links) == 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No link block",
			Detail:   `The hosts reach each other over a private WireGuard link: add link { network = "10.77.0.0/24" } with a network of private addresses for them.`,
			Subject:  b.DefRange.Ptr(),
		})
	default:
		for _, extra := range links[1:] {
			diags = append(diags, lang.DuplicateDiag("link block", "link", extra.DefRange, links[0].DefRange))
		}
		link, moreDiags := e.link(links[0])
		diags = append(diags, moreDiags...)
		f.Link = link
	}
	return f, append(diags, a.Diags...)
}

func (e *evaluator) link(b *hcl.Block) (spec.Link, hcl.Diagnostics) {
	content, diags := b.Body.Content(linkSchema)
	a := e.Attrs(b, content, linkSchema)
	l := spec.Link{DeclRange: b.DefRange}
	if s := a.Str("network", ""); s != "" {
		pfx, err := netip.ParsePrefix(s)
		switch {
		case err != nil || !pfx.Addr().Is4():
			a.Errorf("network", "Invalid link network", "%q is not an IPv4 network such as \"10.77.0.0/24\".", s)
		case pfx != pfx.Masked():
			a.Errorf("network", "Invalid link network", "%q has host bits set; the network is %s.", s, pfx.Masked())
		case !pfx.Addr().IsPrivate() || pfx.Bits() > 30:
			a.Errorf("network", "Invalid link network", "%q must be a private network (10/8, 172.16/12, 192.168/16) of at least /30: the link's addresses never leave it.", s)
		default:
			l.Network = pfx
		}
	}
	l.Port = a.Integer("port", 51820, 1, 65535)
	l.Interface = a.Str("interface", "sovereign-link")
	if !linkInterface.MatchString(l.Interface) {
		a.Errorf("interface", "Invalid interface name", "%q is not a network interface name: lowercase letters, digits and '-', starting with a letter, at most 15 characters (the kernel's limit).", l.Interface)
	}
	l.Keepalive = a.Duration("keepalive", 25*time.Second)
	if l.Keepalive > 0 && l.Keepalive < time.Second || l.Keepalive > time.Hour {
		a.Errorf("keepalive", "Value out of range", "keepalive is between 1s and 1h, or 0s for none.")
	}
	return l, append(diags, a.Diags...)
}

// host decodes a host block's own attributes; its blocks are decoded with
// the shared ones by fleetHosts.
func (e *evaluator) host(b *hcl.Block, f *spec.Fleet, seen map[*spec.Host]*hcl.Block) (*spec.Host, hcl.Diagnostics) {
	content, diags := b.Body.Content(hostSchema)
	h := &spec.Host{Name: b.Labels[0], DeclRange: b.DefRange}
	if !hostName.MatchString(h.Name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid host name",
			Detail:   fmt.Sprintf("%q is not a host name here: lowercase letters, digits and '-', starting with a letter, at most 32 characters (it names the host's output folder).", h.Name),
			Subject:  b.LabelRanges[0].Ptr(),
		})
	}
	for prev, pb := range seen {
		if prev.Name == h.Name {
			diags = append(diags, lang.DuplicateDiag("host", h.Name, b.LabelRanges[0], pb.LabelRanges[0]))
			return nil, diags
		}
	}
	a := e.Attrs(b, content, hostSchema)
	if s := a.Str("address", ""); s != "" {
		addr, err := netip.ParseAddr(s)
		switch {
		case err != nil || !addr.Is4():
			a.Errorf("address", "Invalid link address", "%q is not an IPv4 address such as \"10.77.0.1\".", s)
		case f.Link.Network.IsValid() && !f.Link.Network.Contains(addr):
			a.Errorf("address", "Address outside the link", "%s is not in the link's network %s (%s).", addr, f.Link.Network, f.Link.DeclRange)
		case f.Link.Network.IsValid() && (addr == f.Link.Network.Addr() || addr == lastAddr(f.Link.Network)):
			a.Errorf("address", "Invalid link address", "%s is the network or broadcast address of %s; give the host an address inside it.", addr, f.Link.Network)
		default:
			h.Address = addr
		}
		for prev, pb := range seen {
			if h.Address.IsValid() && prev.Address == h.Address {
				a.Errorf("address", "Address already in use", "Host %q already has %s on the link (%s). Give each host its own address.", prev.Name, h.Address, pb.DefRange)
			}
		}
	}
	if s := a.Str("endpoint", ""); s != "" {
		h.Endpoint = endpoint(a, s, f.Link.Port)
	}
	h.PrivateKey = a.Secret("private_key")
	if h.PrivateKey != nil {
		pub, err := wireguardPublicKey(h.PrivateKey.Value)
		if err != nil {
			a.Errorf("private_key", "Invalid WireGuard key", "The private key must be 32 bytes in base64, as `wg genkey` writes it: %s.", err)
		}
		h.PublicKey = pub
		if isExampleLinkKey(h.PrivateKey.Value) {
			a.Warnf("private_key", "Published example link key", "Host %q's WireGuard private key is one of the examples published with sovereign: anyone can read it, so the link would not be private. Make one per host with `umask 077; wg genkey > FILE` and point private_key at it.", h.Name)
		}
	}
	return h, append(diags, a.Diags...)
}

// endpoint reads "HOST" or "HOST:PORT" (an IPv6 address in brackets) into
// HOST:PORT, the link's port by default.
func endpoint(a *lang.Attrs, s string, port int) string {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		host, p = s, strconv.Itoa(port)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || (!domainName.MatchString(host) && net.ParseIP(host) == nil) {
		a.Errorf("endpoint", "Invalid endpoint", "%q is not where the other hosts can reach this one: a DNS name or public address, with an optional :PORT (%d by default).", s, port)
		return ""
	}
	return net.JoinHostPort(host, p)
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// wireguardPublicKey derives a WireGuard public key from its private key:
// both are Curve25519 (X25519) keys, base64-encoded.
func wireguardPublicKey(private string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(private)
	if err != nil {
		return "", fmt.Errorf("it is not base64")
	}
	key, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return "", fmt.Errorf("it is %d bytes", len(raw))
	}
	return base64.StdEncoding.EncodeToString(key.PublicKey().Bytes()), nil
}

// pickGateway resolves gateway_host to its host, and refuses a gateway
// block the gateway host would not get.
func pickGateway(f *spec.Fleet, src *lang.Source) hcl.Diagnostics {
	want := f.GatewayHost
	f.GatewayHost = nil
	var names []string
	for _, h := range f.Hosts {
		names = append(names, h.Name)
		if h.Name == want.Name {
			f.GatewayHost = h
		}
	}
	if f.GatewayHost == nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No such gateway host",
			Detail:   fmt.Sprintf("gateway_host is %q, but no host block has that name.%s", want.Name, lang.Suggest(want.Name, names)),
			Subject:  want.DeclRange.Ptr(),
		}}
	}
	if len(src.Blocks("gateway")) == 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No gateway block",
			Detail:   fmt.Sprintf("Host %q runs the members' gateway, but the blueprint has no gateway block: the other hosts' engines answer only the gateway host, so without one nobody reaches them.", f.GatewayHost.Name),
			Subject:  want.DeclRange.Ptr(),
		}}
	}
	return nil
}

// checkEndpoints refuses two hosts neither of which the other can reach:
// WireGuard needs the endpoint of at least one side of each pair.
func checkEndpoints(f *spec.Fleet, blocks map[*spec.Host]*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i, h := range f.Hosts {
		for _, o := range f.Hosts[i+1:] {
			if h.Endpoint == "" && o.Endpoint == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Hosts cannot reach each other",
					Detail:   fmt.Sprintf("Neither %q nor %q has an endpoint, so neither can start the WireGuard handshake with the other. Give at least one of them endpoint = \"PUBLIC-NAME-OR-ADDRESS\".", h.Name, o.Name),
					Subject:  blocks[o].DefRange.Ptr(),
				})
			}
		}
	}
	return diags
}

// fleetHosts decodes each host's blocks with the shared ones into the
// host's own blueprint. The other hosts come first and the gateway host
// last, so that its routes find every host's engines.
func (p *Loader) fleetHosts(src *lang.Source, ev *evaluator, in lang.Inputs, f *spec.Fleet, blocks map[*spec.Host]*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	order := append([]*spec.Host{}, f.Hosts...)
	sort.SliceStable(order, func(i, j int) bool { return order[j] == f.GatewayHost && order[i] != f.GatewayHost })
	var remote []*spec.Engine
	for _, h := range order {
		hsrc := hostSource(src, blocks[h], h == f.GatewayHost)
		moreDiags := p.LoadModules(hsrc, ev.Evaluator, in, []string{src.BaseDir})
		if diags = append(diags, moreDiags...); moreDiags.HasErrors() {
			continue
		}
		if h == f.GatewayHost {
			hsrc.Remote = remote
		}
		bp, moreDiags := ev.blueprint(hsrc)
		diags = append(diags, moreDiags...)
		if bp == nil || moreDiags.HasErrors() {
			continue
		}
		bp.Fleet = &spec.FleetHost{Fleet: f, Host: h}
		h.Blueprint = bp
		if h != f.GatewayHost {
			// Only the gateway host's nginx calls them, over the link.
			for _, eng := range bp.Engines {
				eng.Listen = h.Address
			}
			remote = append(remote, bp.Engines...)
		}
	}
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, wireUpstreams(f)...)
	if diags.HasErrors() {
		return diags
	}
	return append(diags, wireLLMD(f)...)
}

// hostSource is the source a host is decoded from: the shared top-level
// blocks (with the modules they came from), the gateway for the gateway
// host, and the host block's own blocks.
func hostSource(src *lang.Source, b *hcl.Block, gatewayHost bool) *lang.Source {
	hs := &lang.Source{BaseDir: src.BaseDir, Evals: map[*hcl.Block]*lang.Evaluator{}, ByType: map[string][]*hcl.Block{}, Start: b.DefRange}
	for _, blk := range src.All {
		switch blk.Type {
		case "variable", "locals", "module", "fleet", "host":
			continue
		case "gateway":
			if !gatewayHost {
				continue
			}
		}
		hs.Add(blk)
		if e, ok := src.Evals[blk]; ok {
			hs.Evals[blk] = e
		}
	}
	content, _ := b.Body.Content(hostSchema) // its errors were reported by host()
	for _, blk := range content.Blocks {
		hs.Add(blk)
	}
	return hs
}

// dedupeDiagnostics drops repeated diagnostics: a shared block is decoded once per
// host, and its problems would be reported once per host too.
func dedupeDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		key := fmt.Sprintf("%d\x00%s\x00%s\x00%v", d.Severity, d.Summary, d.Detail, d.Subject)
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	return out
}

// Upstream tuning: a server that failed twice within 10 s is left out for
// 10 s, and one that accepts no connection within 3 s counts as failed (a
// powered-off host answers nothing, and nginx's own default waits 60 s).
const (
	upstreamMaxFails       = 2
	upstreamFailTimeout    = 10 * time.Second
	upstreamConnectTimeout = 3 * time.Second
)

// wireUpstreams gives the gateway, for each engine its routes name, every
// host's engine of that kind and name. The keys the gateway sends them are
// the gateway module's to derive, as for a single host.
func wireUpstreams(f *spec.Fleet) hcl.Diagnostics {
	var diags hcl.Diagnostics
	gw := f.GatewayHost.Blueprint.Gateway
	gw.Upstreams = map[string]*spec.Upstream{}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			if gw.Upstreams[eng.Name] != nil {
				continue
			}
			up := &spec.Upstream{MaxFails: upstreamMaxFails, FailTimeout: upstreamFailTimeout, ConnectTimeout: upstreamConnectTimeout}
			for _, h := range f.Hosts {
				for _, other := range h.Blueprint.Engines {
					if other.Kind != eng.Kind || other.Name != eng.Name {
						continue
					}
					if other.ServedModelName != eng.ServedModelName {
						diags = append(diags, &hcl.Diagnostic{
							Severity: hcl.DiagError,
							Summary:  "Engines of one upstream serve different models",
							Detail:   fmt.Sprintf("The gateway spreads members over every host's engine %q, but on host %q it serves %q where another serves %q (%s). Give them the same served_model_name, or different engine names.", eng.Name, h.Name, other.ServedModelName, eng.ServedModelName, eng.DeclRange),
							Subject:  other.DeclRange.Ptr(),
						})
						continue
					}
					up.Servers = append(up.Servers, spec.UpstreamServer{Host: h.Name, Engine: other, Address: netip.AddrPortFrom(netip.MustParseAddr(other.ListenHost()), uint16(other.Port))})
				}
			}
			gw.Upstreams[eng.Name] = up
		}
	}
	return diags
}

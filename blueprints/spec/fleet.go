package spec

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Fleet is a blueprint for several hosts behind one gateway: each host is
// an appliance of its own (hardware, engines, UPS, uplinks), the hosts reach
// each other over an encrypted private link, and the gateway host routes
// members to every host's engines.
type Fleet struct {
	Name string
	// Router picks how the gateway spreads requests over the hosts'
	// engines: RouterNginx or RouterLLMD.
	Router string
	// RouterRange is where the blueprint chose the router (the fleet
	// block when it did not).
	RouterRange hcl.Range
	// EndpointPickerImage and EnvoyImage run the llm-d router on the
	// gateway host when Router is RouterLLMD. The fleet block has no
	// setting for them, so they stay empty and the llmd module runs its
	// default images.
	EndpointPickerImage, EnvoyImage Image
	Link                            Link
	// Hosts are sorted by name; GatewayHost is the one whose Blueprint has
	// the Gateway.
	Hosts       []*Host
	GatewayHost *Host

	DeclRange hcl.Range
}

// Routers a fleet can use.
const (
	// RouterNginx: the gateway's nginx upstreams list every engine serving
	// a route across hosts and hash each member onto one of them.
	RouterNginx = "nginx"
	// RouterLLMD: llm-d's endpoint picker chooses each request's engine
	// (prefix cache, queue, KV-cache use) and Envoy on the gateway host
	// sends it there; nginx stays in front for members, keys and limits.
	RouterLLMD = "llm-d"
)

// Link is the private network between the hosts: a WireGuard interface on
// every host, managed by NetworkManager.
type Link struct {
	// Network holds every host's Address.
	Network netip.Prefix
	// Port is the UDP port every host's WireGuard listens on.
	Port int
	// Interface is the WireGuard interface's name on every host.
	Interface string
	// Keepalive is WireGuard's persistent keepalive: it keeps a host
	// behind NAT reachable from the others.
	Keepalive time.Duration

	DeclRange hcl.Range
}

// Host is one machine of a fleet.
type Host struct {
	Name string
	// Address is the host's address on the private link.
	Address netip.Addr
	// Endpoint is where the other hosts send the host's WireGuard packets:
	// a public address or DNS name, and a port.
	Endpoint string
	// PrivateKey is the host's WireGuard private key (base64 of 32 bytes);
	// PublicKey is derived from it.
	PrivateKey *Secret
	PublicKey  string
	// Blueprint is the host as an appliance of its own: what a
	// single-host blueprint would say about it. Its Fleet points back here.
	Blueprint *Blueprint

	DeclRange hcl.Range
}

// FleetHost is what a host's blueprint knows of the fleet it belongs to.
type FleetHost struct {
	Fleet *Fleet
	Host  *Host
}

// Peers are the fleet's other hosts, by name.
func (f *FleetHost) Peers() []*Host {
	var out []*Host
	for _, h := range f.Fleet.Hosts {
		if h != f.Host {
			out = append(out, h)
		}
	}
	return out
}

// IsGateway reports whether this host runs the members' gateway.
func (f *FleetHost) IsGateway() bool { return f.Fleet.GatewayHost == f.Host }

// Upstream is one route engine's servers across the fleet: every host's
// engine of that name, which the gateway spreads members over.
type Upstream struct {
	Servers []UpstreamServer // by host name
	// MaxFails failed attempts within FailTimeout take a server out of the
	// rotation for FailTimeout; its members move to the next server.
	MaxFails    int
	FailTimeout time.Duration
	// ConnectTimeout is how long the gateway waits for a server to accept
	// a connection before it tries the next: a powered-off host answers
	// nothing at all.
	ConnectTimeout time.Duration
	// LLMD, when the fleet routes with llm-d, is where this upstream's
	// endpoint picker and Envoy listen on the gateway host; nginx sends
	// the upstream's requests to that Envoy instead of the Servers.
	LLMD *LLMDRoute
}

// LLMDEnvoyAdminPort is Envoy's admin port on the gateway host's loopback
// when the fleet routes with llm-d; the router's other ports follow it.
const LLMDEnvoyAdminPort = 19000

// LLMDRoute is one upstream's llm-d router on the gateway host: an
// endpoint picker over the upstream's Servers and an Envoy listener that
// asks it where each request goes. Envoy listens on loopback; the
// picker's own ports listen on every address of the gateway host (it has
// no flag known here to bind them to one).
type LLMDRoute struct {
	// Index numbers the upstream among the fleet's (by engine name).
	Index int
	// Envoy is the loopback address nginx sends the upstream's requests to.
	Envoy netip.AddrPort
	// GRPCPort serves Envoy's ext_proc stream, GRPCHealthPort its health
	// check and MetricsPort the picker's Prometheus metrics.
	GRPCPort, GRPCHealthPort, MetricsPort int
}

// UpstreamServer is one engine of an upstream.
type UpstreamServer struct {
	Host    string
	Engine  *Engine
	Address netip.AddrPort
}

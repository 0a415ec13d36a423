package gateway

import (
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	nc "github.com/sovereign-collective/sovereign/modules/gateway/nginxconf"
)

// llmdDestinationHeader is the header llm-d's endpoint picker names a
// request's engine in, for Envoy's original-destination cluster
// (kubernetes-sigs/gateway-api-inference-extension,
// docs/proposals/004-endpoint-picker-protocol).
const llmdDestinationHeader = "x-gateway-destination-endpoint"

// fleetUpstream is the upstream of an engine that runs on several hosts of
// a fleet. Each member is hashed onto one server (consistent hashing, so
// that adding or losing a server moves only its own members): a member's
// conversations reach the same engine and reuse its prefix cache. The
// inner hop knows the member from X-Sovereign-Member, which the outer hop
// set. A server that fails MaxFails times within FailTimeout is left out
// for FailTimeout, and its members hash onto the others meanwhile.
func fleetUpstream(name string, up *spec.Upstream) []nc.Node {
	body := []nc.Node{
		nc.Comment("Each member sticks to one engine, so its prefix cache is reused."),
		d("hash", vr("http_x_sovereign_member"), lit("consistent")),
	}
	for _, s := range up.Servers {
		body = append(body,
			nc.Comment("host "+s.Host),
			ds("server", s.Address.String(), "max_fails="+strconv.Itoa(up.MaxFails), "fail_timeout="+strconv.Itoa(seconds(up.FailTimeout))+"s"))
	}
	// No keepalive: a request sent on an idle connection to a host that
	// lost power would wait for an answer as long as a stream may last;
	// on a fresh connection it fails within the connect timeout and goes
	// to the next server. A handshake over the link costs a round trip,
	// nothing beside a generation.
	return []nc.Node{nc.B("upstream", nc.Args(name), body...)}
}

// failOver sends a request whose engine does not answer to the next one:
// a connection refused or not accepted within ConnectTimeout (a host that
// is down), or a 502/503/504 from the engine. A request is passed on only
// before its first byte went to the engine (nginx never repeats a POST it
// sent), so a generation is never run twice.
func failOver(up *spec.Upstream) []nc.Node {
	return []nc.Node{
		ds("proxy_connect_timeout", strconv.Itoa(seconds(up.ConnectTimeout))+"s"),
		ds("proxy_next_upstream", "error", "timeout", "http_502", "http_503", "http_504"),
		d("proxy_next_upstream_tries", num(len(up.Servers))),
	}
}

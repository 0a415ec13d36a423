package gateway

import (
	"path"
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	nc "github.com/sovereign-collective/sovereign/modules/gateway/nginxconf"
)

// llmdDestinationHeader is the header llm-d's endpoint picker names a
// request's engine in, for Envoy's original-destination cluster
// (kubernetes-sigs/gateway-api-inference-extension,
// docs/proposals/004-endpoint-picker-protocol).
const llmdDestinationHeader = "x-gateway-destination-endpoint"

// HopSocketPrefix begins the path of every host hop's socket: one per
// fleet engine and host, inside the nginx container like the inner hop's.
const HopSocketPrefix = "/run/sovereign-gateway-hop-"

// hopSocket is the socket of the hop to host's engine name.
func hopSocket(name, host string) string { return HopSocketPrefix + name + "@" + host + ".sock" }

// engineAuthFile is the 0600 snippet with the key the gateway sends engine
// name, on host in a fleet ("" for a single host).
func engineAuthFile(name, host string) string {
	if host == "" {
		return path.Join(NginxDir, "engine-"+name+".conf")
	}
	return path.Join(NginxDir, "engine-"+name+"@"+host+".conf")
}

// fleetUpstream is the upstream of an engine that runs on several hosts of
// a fleet: one server per host, each that host's hop. Each member is hashed
// onto one server (consistent hashing, so that adding or losing a server
// moves only its own members): a member's conversations reach the same
// engine and reuse its prefix cache. The inner hop knows the member from
// X-Sovereign-Member, which the outer hop set. A server that fails MaxFails
// times within FailTimeout is left out for FailTimeout, and its members
// hash onto the others meanwhile.
func fleetUpstream(name string, up *spec.Upstream) []nc.Node {
	body := []nc.Node{
		nc.Comment("Each member sticks to one engine, so its prefix cache is reused."),
		d("hash", vr("http_x_sovereign_member"), lit("consistent")),
	}
	for _, s := range up.Servers {
		body = append(body,
			nc.Comment("host "+s.Host+", "+s.Address.String()),
			ds("server", "unix:"+hopSocket(s.Engine.Name, s.Host), "max_fails="+strconv.Itoa(up.MaxFails), "fail_timeout="+strconv.Itoa(seconds(up.FailTimeout))+"s"))
	}
	return []nc.Node{nc.B("upstream", nc.Args(name), body...)}
}

// failOver sends a request whose engine was not reached to the next one.
// The hop answers 502 only when not one byte of the request went to its
// engine (a connection refused, or not accepted within the connect
// timeout: a host that is down), so passing on a POST then
// (non_idempotent) never runs a generation twice.
func failOver(up *spec.Upstream) []nc.Node {
	return []nc.Node{
		ds("proxy_next_upstream", "error", "timeout", "http_502", "non_idempotent"),
		d("proxy_next_upstream_tries", num(len(up.Servers))),
	}
}

// hopServers are the fleet's host hops, one per routed engine and host: a
// server on a socket inside the container that sends that host's engine
// its own key. nginx builds a request's headers before it picks the
// upstream server, so one upstream cannot send each server another key;
// each hop can.
func hopServers(gw *spec.Gateway) []nc.Node {
	var out []nc.Node
	for _, eng := range routedEngines(gw) {
		up := gw.Upstreams[eng.Name]
		if up == nil || up.LLMD != nil {
			continue // a single host's engine, or Envoy's
		}
		for _, s := range up.Servers {
			out = append(out, nc.Blank{},
				nc.Comment("Host "+s.Host+"'s engine "+eng.Name+": the hop that sends it that host's key."),
				block("server", nil, hopServer(gw, up, s)...))
		}
	}
	return out
}

func hopServer(gw *spec.Gateway, up *spec.Upstream, s spec.UpstreamServer) []nc.Node {
	proxy := []nc.Node{
		ds("proxy_pass", "http://"+s.Address.String()),
		d("proxy_set_header", lit("Connection"), lit("")),
		ds("proxy_set_header", "Host", s.Address.String()),
		d("proxy_set_header", lit("X-Sovereign-Member"), vr("http_x_sovereign_member")),
	}
	if s.Engine.APIKey != nil {
		proxy = append(proxy, ds("include", engineAuthFile(s.Engine.Name, s.Host)))
	} else {
		proxy = append(proxy, d("proxy_set_header", lit("Authorization"), lit("")))
	}
	// No keepalive: a request sent on an idle connection to a host that
	// lost power would wait for an answer as long as a stream may last;
	// on a fresh connection it fails within the connect timeout. A
	// handshake over the link costs a round trip, nothing beside a
	// generation.
	proxy = append(proxy,
		ds("proxy_connect_timeout", strconv.Itoa(seconds(up.ConnectTimeout))+"s"),
		ds("proxy_next_upstream", "off"),
		nc.Comment("The engine's own error answers pass; nginx's (and an engine's own 502"),
		nc.Comment("or 504) go to @unreached, which tells the upstream whether to pass on."),
		ds("proxy_intercept_errors", "on"),
		ds("error_page", "502", "504", "=", "@unreached"))
	proxy = append(proxy, streaming(gw)...)
	return []nc.Node{
		ds("listen", "unix:"+hopSocket(s.Engine.Name, s.Host)),
		ds("server_name", "sovereign-hop-"+s.Engine.Name+"-"+s.Host),
		d("client_max_body_size", num(int(gw.MaxBodySize))),
		ds("access_log", "off"),
		location([]string{"/"}, proxy...),
		nc.Comment("502: nothing was sent, the next host may take the request; 503: the"),
		nc.Comment("engine got it, and a POST must not run twice. A member sees either (the"),
		nc.Comment("502 once no host is left) as the model being away."),
		location([]string{"@unreached"},
			d("add_header", lit("Retry-After"), num(engineRetryAfter), lit("always")),
			ds("default_type", "application/json"),
			nc.If([]nc.Arg{vr("upstream_bytes_sent"), lit("="), lit("0")}, d("return", num(502), engineAway)),
			d("return", num(503), engineAway)),
	}
}

// engineAway is the answer while an engine cannot take requests.
var engineAway = openAIError("The model is loading, or its engine is restarting. Retry after the time in Retry-After.", "server_error", "model_loading")

package gateway

import (
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	nc "github.com/sovereign-collective/sovereign/modules/gateway/nginxconf"
)

// Grafana for the metrics block's admins, at /grafana/ under the gateway's
// domain. The outer hop signs the browser in (oauth2-proxy's session only:
// an API key opens no dashboard) and sends the signed-in member's name, in
// place of whatever the client sent, to a third hop, the admin hop, which
// lets admins through to Grafana on loopback and answers everyone else
// 403. The check cannot be in the outer hop: nginx runs `if` (REWRITE)
// before auth_request (ACCESS), when nobody is signed in yet. It is not in
// the inner hop either, whose rate limits a dashboard's dozens of requests
// a minute would trip. Grafana signs people in by the header (its auth
// proxy), trusting it from loopback only. Prometheus is not proxied at all.

// GrafanaPath is where admins find the dashboards.
const GrafanaPath = "/grafana/"

// The headers the admin hop and Grafana read: who signed in.
const (
	memberHeader = "X-Sovereign-Member"
	emailHeader  = "X-Sovereign-Email"
)

// adminMap says which members the admin hop lets through.
func adminMap(mon *Monitoring) nc.Node {
	var admins []nc.Node
	for _, name := range mon.Admins {
		admins = append(admins, nc.Entry(name, lit("1")))
	}
	return memberMap("sovereign_admin", lit(""), admins)
}

// adminUpstreams are the admin hop's socket and Grafana.
func adminUpstreams(mon *Monitoring) []nc.Node {
	return []nc.Node{
		block("upstream", []string{"sovereign-admin"}, ds("server", "unix:"+adminSocket), d("keepalive", num(8))),
		block("upstream", []string{"sovereign-grafana"}, ds("server", mon.Grafana), d("keepalive", num(8))),
	}
}

// outerGrafana is the outer hop's /grafana/: sign in, then the admin hop
// with the member oauth2-proxy vouched for.
func outerGrafana() []nc.Node {
	body := authRequest("@sovereign_sign_in_grafana")
	body = append(body,
		// With a URI part: the admin hop and Grafana get the normalised path.
		ds("proxy_pass", "http://sovereign-admin"+GrafanaPath),
		ds("proxy_http_version", "1.1"),
		d("proxy_set_header", lit("Connection"), lit("")),
		d("proxy_set_header", lit("Host"), vr("http_host")),
		nc.Comment("Only the session's member: these replace any such header the client sent."),
		d("proxy_set_header", lit(memberHeader), vr("sovereign_sso_member")),
		d("proxy_set_header", lit(emailHeader), vr("sovereign_sso_email")),
		d("proxy_set_header", lit("Authorization"), lit("")),
		nc.Comment("The security headers without the API's Content-Security-Policy, which would"),
		nc.Comment("block Grafana's scripts; Grafana sends its own."),
	)
	body = append(body, securityHeaders()[:4]...)
	return []nc.Node{
		nc.Comment("Grafana, for the metrics block's admins signed in with their browser."),
		location([]string{GrafanaPath}, body...),
		location([]string{"@sovereign_sign_in_grafana"}, ds("return", "302", "/oauth2/start?rd=%2Fgrafana%2F")),
		nc.Blank{},
	}
}

// adminServer is the admin hop: the member is known, so `if` can check
// them.
func adminServer() []nc.Node {
	return []nc.Node{
		nc.Comment("The admin hop: Grafana for admins, 403 for other members. Reachable only"),
		nc.Comment("through the socket inside the nginx container, and not rate limited."),
		block("server", nil,
			ds("listen", "unix:"+adminSocket),
			ds("server_name", "sovereign-admin"),
			ds("access_log", "off"),
			ds("error_page", "403", "=", "@sovereign_not_admin"),
			ds("error_page", "502", "504", "=", "@sovereign_grafana_away"),
			location([]string{GrafanaPath},
				nc.If([]nc.Arg{vr("sovereign_admin"), lit("="), lit("")}, ds("return", "403")),
				// No URI part: the outer hop's normalised path, unchanged,
				// which Grafana serves from its sub-path.
				ds("proxy_pass", "http://sovereign-grafana"),
				ds("proxy_http_version", "1.1"),
				d("proxy_set_header", lit("Connection"), lit("")),
				d("proxy_set_header", lit("Host"), vr("http_host"))),
			location([]string{"/"}, ds("return", "404")),
			location([]string{"@sovereign_not_admin"}, jsonAnswer(403, nil,
				"The dashboards are for the appliance's admins (the metrics block's admins), signed in with their browser.", "invalid_request_error", "not_admin")...),
			location([]string{"@sovereign_grafana_away"}, jsonAnswer(503, []nc.Node{d("add_header", lit("Retry-After"), num(engineRetryAfter), lit("always"))},
				"Grafana is starting or restarting. Retry after the time in Retry-After.", "server_error", "grafana_away")...),
		),
	}
}

// GrafanaURL is the address admins open, which Grafana needs as its root
// URL to write its links under /grafana/.
func GrafanaURL(gw *spec.Gateway) string { return "https://" + httpsHost(gw) + GrafanaPath }

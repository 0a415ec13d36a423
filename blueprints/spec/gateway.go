package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Gateway is the appliance's only door to the network: nginx terminating
// TLS in front of the engines, with oauth2-proxy signing members in through
// the collective's identity provider. Members reach the engines with a
// browser session or a per-member API key; either way the gateway resolves
// one member name, logs it, limits it and passes it upstream.
type Gateway struct {
	// Domain is the name members reach the appliance by; it is the TLS
	// server name and the host of the sign-in callback.
	Domain string
	// HTTPSPort serves everything; HTTPPort only redirects to it (and
	// answers /health). AuthPort is oauth2-proxy's loopback port.
	HTTPSPort, HTTPPort, AuthPort int

	// Certificate is the PEM chain nginx presents; Key its private key.
	Certificate string
	Key         *Secret

	OIDC OIDC
	// CookieSecret encrypts oauth2-proxy's session cookie; oauth2-proxy
	// reads it as 16, 24 or 32 bytes (raw, or base64url of those).
	CookieSecret *Secret

	Members []*Member
	Routes  []*Route
	// Upstreams, in a fleet, are each routed engine's servers on every
	// host, by engine name; nil for a single host.
	Upstreams map[string]*Upstream
	// MembersFile is the members_file the member blocks were read from, as
	// a path on the blueprint's filesystem ("" when they sit in the gateway
	// block), and BaseDir the folder that the gateway's relative paths
	// (secret_file, file, members_file) are read from. `sovereign member`
	// edits that file.
	MembersFile, BaseDir string

	// Global limits all members together, a backstop behind the
	// per-member limits.
	Global RateLimit
	// MaxBodySize is the largest request body (long prompts, base64
	// images); StreamTimeout the longest silence between two reads from an
	// engine (prefill of a long prompt, a reasoning pause).
	MaxBodySize   int64
	StreamTimeout time.Duration
	// DrainRetryAfter is the Retry-After the gateway sends with its 503s
	// while the drain flag (units.DrainFlag) exists.
	DrainRetryAfter time.Duration

	NginxImage       Image
	OAuth2ProxyImage Image

	DeclRange hcl.Range
}

// OIDC is the identity provider oauth2-proxy signs members in with.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret *Secret
	DeclRange    hcl.Range
}

// Member is one person (or agent owner) of the collective.
type Member struct {
	// Name is what the gateway logs and sends upstream as
	// X-Sovereign-Member.
	Name string
	// Email is the address the identity provider vouches for at browser
	// sign-in; only members' addresses may sign in.
	Email string
	// APIKey, when set, lets the member's tools call the API with
	// "Authorization: Bearer KEY" without the identity provider.
	APIKey *Secret
	// APIKeySHA256 is the alternative to APIKey: the hex SHA-256 of the
	// key, so that the blueprint need not hold the key itself. nginx then
	// hashes each bearer token (with its njs module) to find the member.
	APIKeySHA256 string
	Limit        RateLimit
	// Models, when not empty, are the served model names the member may
	// use; a route to another engine answers 403.
	Models []string

	DeclRange hcl.Range
}

// RateLimit is a token bucket: RequestsPerMinute refill, Burst extra
// requests accepted at once. RequestsPerMinute is 0 and Burst nil when the
// blueprint names none: the gateway module owns the defaults
// (gateway.MemberLimit, gateway.GlobalLimit).
type RateLimit struct {
	RequestsPerMinute int
	Burst             *int
}

// Route sends requests under Path to Engine. Path ends in "/v1/"; what
// comes before it is removed, so "/fast/v1/chat/completions" reaches the
// engine as "/v1/chat/completions". Nothing outside /v1/ reaches an engine:
// their /health and /metrics stay on the host.
//
// A route with several Engines picks one by the "model" of each POST body
// (the engines' served model names); other requests go to the first, and
// PATH/models lists every model. Engine is then Engines[0].
type Route struct {
	Path    string
	Engine  *Engine
	Engines []*Engine

	DeclRange hcl.Range
}

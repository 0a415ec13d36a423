package decode

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

var gatewaySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "domain", Required: true},
		{Name: "https_port"},
		{Name: "http_port"},
		{Name: "auth_port"},
		{Name: "cookie_secret", Required: true},
		{Name: "members_file"},
		{Name: "max_body_size"},
		{Name: "stream_timeout"},
		{Name: "drain_retry_after"},
		{Name: "nginx_image"},
		{Name: "oauth2_proxy_image"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "tls"},
		{Type: "oidc"},
		{Type: "rate_limit"},
		{Type: "member", LabelNames: []string{"name"}},
		{Type: "route", LabelNames: []string{"path"}},
	},
}

var (
	gatewayTLSSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "certificate", Required: true},
		{Name: "key", Required: true},
	}}
	gatewayOIDCSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "issuer", Required: true},
		{Name: "client_id", Required: true},
		{Name: "client_secret", Required: true},
	}}
	rateLimitSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "requests_per_minute", Required: true},
		{Name: "burst"},
	}}
	memberSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "email", Required: true},
		{Name: "api_key"},
		{Name: "api_key_sha256"},
		{Name: "requests_per_minute"},
		{Name: "burst"},
		{Name: "models"},
	}}
	routeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "engine"},
		{Name: "engines"},
	}}
	// membersFileSchema is a members_file: member blocks and nothing else.
	membersFileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "member", LabelNames: []string{"name"}},
	}}
)

var (
	// apiKey is what a member key may be made of: enough characters to be
	// unguessable, and none that nginx's config syntax or a regular
	// expression would read specially (keys are matched case-sensitively
	// by a regex, because nginx's map matches plain strings ignoring case).
	apiKey = regexp.MustCompile(`^[A-Za-z0-9_-]{32,256}$`)
	// domainName is a DNS name or an IPv4 address: it goes into nginx's
	// server_name and into URLs unquoted.
	domainName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
	routePath  = regexp.MustCompile(`^(/[a-z0-9][a-z0-9._-]*)*/v1/$`)
	sha256Hex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	clientID   = regexp.MustCompile(`^[A-Za-z0-9._:@/-]{1,256}$`)
)

// routerOutsideFleet says where a router is chosen when the gateway block
// tries to: a blueprint of one host sends each model to its one engine, and
// a router (nginx upstreams, llm-d) spreads requests over several hosts'
// engines, so it is the fleet block's to choose.
func routerOutsideFleet(b *hcl.Block, diags hcl.Diagnostics) hcl.Diagnostics {
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "router"}}})
	attr := content.Attributes["router"]
	if attr == nil {
		return diags
	}
	for _, d := range diags {
		if d.Summary == "Unsupported argument" && d.Subject != nil && d.Subject.Start == attr.NameRange.Start {
			d.Summary = "Router outside a fleet"
			d.Detail = `A router spreads requests over the engines of several hosts, so a fleet block chooses it: fleet "NAME" { gateway_host = "HOST"  router = "llm-d"  link { … } } with a host block per machine. A blueprint of one host sends each model to its one engine.`
		}
	}
	return diags
}

// gateway decodes the gateway block, if any. The key the gateway sends each
// engine it routes to is the gateway module's to derive (EngineKeys). In a
// fleet, remote are the other hosts' engines, which routes may name too.
func (e *evaluator) gateway(blocks []*hcl.Block, engines, remote []*spec.Engine) (*spec.Gateway, hcl.Diagnostics) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var diags hcl.Diagnostics // a second gateway is reported by the caller
	b := blocks[0]
	content, moreDiags := b.Body.Content(gatewaySchema)
	diags = append(diags, routerOutsideFleet(b, moreDiags)...)
	a := e.Attrs(b, content, gatewaySchema)
	gw := &spec.Gateway{DeclRange: b.DefRange, BaseDir: e.BaseDir}
	gatewayAttributes(a, b, gw, engines)

	var memberBlocks []*hcl.Block
	seen := map[string]int{}
	for _, blk := range content.Blocks {
		if n := seen[blk.Type]; n > 0 && blk.Type != "member" && blk.Type != "route" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate " + blk.Type + " block",
				Detail:   fmt.Sprintf("A gateway has at most one %s block.", blk.Type),
				Subject:  blk.DefRange.Ptr(),
			})
			continue
		}
		seen[blk.Type]++
		switch blk.Type {
		case "tls":
			diags = append(diags, e.gatewayTLS(blk, gw)...)
		case "oidc":
			diags = append(diags, e.gatewayOIDC(blk, gw)...)
		case "rate_limit":
			gw.Global, moreDiags = e.rateLimit(blk)
			diags = append(diags, moreDiags...)
		case "member":
			memberBlocks = append(memberBlocks, blk)
		case "route":
			r, d := e.route(blk, append(slices.Clip(engines), remote...))
			diags = append(diags, d...)
			if r != nil {
				gw.Routes = append(gw.Routes, r)
			}
		}
	}
	diags = append(diags, requiredBlocks(b, seen)...)
	diags = append(diags, e.gatewayMembers(a, b, gw, memberBlocks)...)
	if !diags.HasErrors() && len(gw.Members) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No members",
			Detail:   "A gateway lets members in and nobody else, so it needs at least one member \"NAME\" { email = \"…\" } block (in the gateway or in its members_file).",
			Subject:  b.DefRange.Ptr(),
		})
	}
	diags = append(diags, checkRoutes(b, gw, seen["route"])...)
	sort.Slice(gw.Members, func(i, j int) bool { return gw.Members[i].Name < gw.Members[j].Name })
	sort.Slice(gw.Routes, func(i, j int) bool { return gw.Routes[i].Path < gw.Routes[j].Path })
	return gw, append(diags, a.Diags...)
}

// checkTLS finds, at build time, what would stop nginx or members' clients
// on the appliance: a key that is not the certificate's is an error (nginx
// refuses to start); a certificate that does not name domain, or is not
// valid at now, is a warning (a client refuses it, but an operator may be
// about to replace it).
func checkTLS(ta *lang.Attrs, certPEM, keyPEM, domain string, now time.Time) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		ta.Errorf("certificate", "Invalid certificate", "The certificate's first PEM block is not a CERTIFICATE.")
		return
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		ta.Errorf("certificate", "Invalid certificate", "The certificate cannot be read: %v.", err)
		return
	}
	if _, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM)); err != nil {
		ta.Errorf("key", "Key does not match the certificate", "The private key is not the certificate's, or cannot be read (%v): nginx would refuse to start. Give the key the certificate was issued for, or a certificate for this key.", err)
		return
	}
	if domain != "" {
		if err := leaf.VerifyHostname(domain); err != nil {
			ta.Warnf("certificate", "Certificate does not cover the domain", "Members' clients will refuse the connection: %v. Issue a certificate for %s.", err, domain)
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		ta.Warnf("certificate", "Certificate expired", "The certificate expired on %s: members' clients will refuse the connection. Renew it.", leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		ta.Warnf("certificate", "Certificate not yet valid", "The certificate is valid from %s only: members' clients refuse it until then.", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
}

// gatewayTLS decodes the tls block into gw and checks the pair.
func (e *evaluator) gatewayTLS(blk *hcl.Block, gw *spec.Gateway) hcl.Diagnostics {
	c, diags := blk.Body.Content(gatewayTLSSchema)
	ta := e.Attrs(blk, c, gatewayTLSSchema)
	gw.Certificate = ta.Str("certificate", "")
	if gw.Certificate != "" && !strings.Contains(gw.Certificate, "-----BEGIN CERTIFICATE-----") {
		ta.Errorf("certificate", "Invalid certificate", "certificate must be a PEM certificate chain, such as file(\"tls/cert.pem\").")
	}
	gw.Key = ta.Secret("key")
	if gw.Key != nil && !strings.Contains(gw.Key.Value, "PRIVATE KEY-----") {
		ta.Errorf("key", "Invalid private key", "key must be a PEM private key, such as secret_file(\"tls/key.pem\").")
	}
	if !ta.Diags.HasErrors() && gw.Certificate != "" && gw.Key != nil {
		checkTLS(ta, gw.Certificate, gw.Key.Value, gw.Domain, e.Now)
	}
	return append(diags, ta.Diags...)
}

// gatewayOIDC decodes the oidc block into gw.
func (e *evaluator) gatewayOIDC(blk *hcl.Block, gw *spec.Gateway) hcl.Diagnostics {
	c, diags := blk.Body.Content(gatewayOIDCSchema)
	oa := e.Attrs(blk, c, gatewayOIDCSchema)
	gw.OIDC = spec.OIDC{
		Issuer:       oa.Str("issuer", ""),
		ClientID:     oa.Str("client_id", ""),
		ClientSecret: oa.Secret("client_secret"),
		DeclRange:    blk.DefRange,
	}
	if gw.OIDC.Issuer != "" {
		if msg := checkIssuer(gw.OIDC.Issuer); msg != "" {
			oa.Errorf("issuer", "Invalid issuer", "%s", msg)
		}
	}
	if gw.OIDC.ClientID != "" && !clientID.MatchString(gw.OIDC.ClientID) {
		oa.Errorf("client_id", "Invalid client ID", "%q has characters a client ID cannot have here (spaces, quotes).", gw.OIDC.ClientID)
	}
	if s := gw.OIDC.ClientSecret; s != nil && strings.ContainsAny(s.Value, "\n\r") {
		oa.Errorf("client_secret", "Invalid client secret", "The client secret is one line of text.")
	}
	diags = append(diags, placeholderWarnings(gw.OIDC, oa.Range("issuer", blk.DefRange))...)
	return append(diags, oa.Diags...)
}

// firstBlock is blocks[0], or nil for none.
func firstBlock(blocks []*hcl.Block) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	return blocks[0]
}

func (e *evaluator) rateLimit(b *hcl.Block) (spec.RateLimit, hcl.Diagnostics) {
	c, diags := b.Body.Content(rateLimitSchema)
	a := e.Attrs(b, c, rateLimitSchema)
	rl := spec.RateLimit{RequestsPerMinute: a.Integer("requests_per_minute", 0, 1, 60_000)}
	rl.Burst = burst(a)
	return rl, append(diags, a.Diags...)
}

// burst is a limit's burst attribute, nil when it has none: the gateway
// module picks the default from the rate.
func burst(a *lang.Attrs) *int {
	if !a.Has("burst") {
		return nil
	}
	n := a.Integer("burst", 0, 0, 100_000)
	return &n
}

func (e *evaluator) route(b *hcl.Block, engines []*spec.Engine) (*spec.Route, hcl.Diagnostics) {
	c, diags := b.Body.Content(routeSchema)
	a := e.Attrs(b, c, routeSchema)
	r := &spec.Route{Path: b.Labels[0], DeclRange: b.DefRange}
	if !routePath.MatchString(r.Path) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid route path",
			Detail:   fmt.Sprintf("%q is not a route path: a route is \"/v1/\", or a lowercase prefix before it such as \"/fast/v1/\" (the prefix is removed before the engine sees the request).", r.Path),
			Subject:  &b.LabelRanges[0],
		})
	}
	find := func(ref []string, rng hcl.Range) *spec.Engine {
		for _, eng := range engines {
			if eng.Kind == ref[0] && eng.Name == ref[1] {
				return eng
			}
		}
		var names []string
		for _, eng := range engines {
			names = append(names, eng.Kind+"."+eng.Name)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared engine",
			Detail:   fmt.Sprintf("No engine %q %q is declared.%s", ref[0], ref[1], lang.Suggest(ref[0]+"."+ref[1], names)),
			Subject:  rng.Ptr(),
		})
		return nil
	}
	switch {
	case a.Has("engine") == a.Has("engines"):
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Route needs one engine setting",
			Detail:   "A route has engine = engine.KIND.NAME, or engines = [ … ] to choose among several by the request's model; exactly one of them.",
			Subject:  b.DefRange.Ptr(),
		})
	case a.Has("engine"):
		if ref, rng, ok := a.Reference("engine", "engine", 2); ok {
			if eng := find(ref, rng); eng != nil {
				r.Engines = []*spec.Engine{eng}
			}
		}
	default:
		expr := a.All["engines"].Expr
		items, d := hcl.ExprList(expr)
		diags = append(diags, d...)
		served := map[string]bool{}
		for _, item := range items {
			trav, d := hcl.AbsTraversalForExpr(item)
			if d.HasErrors() || trav.RootName() != "engine" || len(trav) != 3 {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid reference", Detail: "engines must be a list of references like engine.vllm.main, with no quotes.", Subject: item.Range().Ptr()})
				continue
			}
			a1, ok1 := trav[1].(hcl.TraverseAttr)
			a2, ok2 := trav[2].(hcl.TraverseAttr)
			if !ok1 || !ok2 {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid reference", Detail: "engines must be a list of references like engine.vllm.main.", Subject: item.Range().Ptr()})
				continue
			}
			eng := find([]string{a1.Name, a2.Name}, item.Range())
			if eng == nil {
				continue
			}
			if served[eng.ServedModelName] {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Two engines serve one model name",
					Detail:   fmt.Sprintf("Engines in one route are chosen by the request's model, but two of them serve %q. Give them distinct served_model_name values.", eng.ServedModelName),
					Subject:  item.Range().Ptr(),
				})
				continue
			}
			served[eng.ServedModelName] = true
			r.Engines = append(r.Engines, eng)
		}
		if len(items) == 0 && !d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No engines", Detail: "engines lists at least one engine.", Subject: expr.Range().Ptr()})
		}
	}
	diags = append(diags, a.Diags...)
	if len(r.Engines) == 0 || diags.HasErrors() {
		return nil, diags
	}
	r.Engine = r.Engines[0]
	return r, diags
}

func (e *evaluator) member(b *hcl.Block, served []string) (*spec.Member, hcl.Diagnostics) {
	c, diags := b.Body.Content(memberSchema)
	name := b.Labels[0]
	if !lang.ValidName(name) {
		diags = append(diags, invalidNameDiag("member", name, b.LabelRanges[0]))
	}
	a := e.Attrs(b, c, memberSchema)
	m := &spec.Member{Name: name, DeclRange: b.DefRange}
	m.Email = a.Str("email", "")
	if m.Email != "" {
		if addr, err := mail.ParseAddress(m.Email); err != nil || addr.Address != m.Email || strings.ContainsAny(m.Email, "\"'\\ ;{}$") {
			a.Errorf("email", "Invalid email address", "%q is not a plain email address such as \"alice@example.org\".", m.Email)
		}
	}
	m.APIKey = a.Secret("api_key")
	if m.APIKey != nil && !apiKey.MatchString(m.APIKey.Value) {
		a.Errorf("api_key", "Invalid API key", "An API key is 32 to 256 characters, each a letter A–Z or a–z, a digit, '-' or '_': nginx matches keys case-sensitively with a regular expression, in which '+', '/', '=' and '.' mean something, and members paste them into shells and headers. This one is %d characters%s. `sovereign member add` writes one (sk- and 48 hex digits); `openssl rand -base64 32 | tr -- '+/' '-_' | tr -d =` makes one from base64.", len(m.APIKey.Value), firstOutside(m.APIKey.Value))
	}
	m.APIKeySHA256 = a.Str("api_key_sha256", "")
	switch {
	case m.APIKeySHA256 != "" && m.APIKey != nil:
		a.Errorf("api_key_sha256", "Two API keys", "A member has api_key or api_key_sha256, not both.")
	case m.APIKeySHA256 != "" && !sha256Hex.MatchString(m.APIKeySHA256):
		a.Errorf("api_key_sha256", "Invalid SHA-256", "api_key_sha256 is 64 lowercase hex digits: `printf %%s \"$KEY\" | sha256sum`.")
	}
	m.Limit.RequestsPerMinute = a.Integer("requests_per_minute", 0, 1, 60_000)
	m.Limit.Burst = burst(a)
	m.Models = a.Strings("models")
	for _, model := range m.Models {
		if !slices.Contains(served, model) {
			a.Errorf("models", "Unknown model", "No route serves a model named %q; the gateway's routes serve %s.%s", model, lang.QuoteList(served), lang.Suggest(model, served))
		}
	}
	return m, append(diags, a.Diags...)
}

// firstOutside describes the first character of key outside the API key
// alphabet (", and has '+'"), without showing the key itself.
func firstOutside(key string) string {
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return " and has " + lang.DescribeRune(r)
		}
	}
	return ""
}

// membersFile reads the member blocks of a members_file, so that the list of
// people can live apart from the machine's blueprint. Its expressions see
// the blueprint's variables and functions, and its paths are relative to
// the blueprint's folder too.
func (e *evaluator) membersFile(p string, rng hcl.Range) ([]*hcl.Block, hcl.Diagnostics) {
	f, diags := e.ParseFile(lang.CleanRel(e.BaseDir, p))
	if f == nil {
		for _, d := range diags {
			if d.Subject == nil {
				d.Subject = rng.Ptr()
			}
		}
		return nil, diags
	}
	content, moreDiags := f.Body.Content(membersFileSchema)
	return content.Blocks, append(diags, moreDiags...)
}

// checkIssuer returns why issuer cannot be an OIDC issuer URL, or "".
// Plain http is allowed only on loopback, where a test issuer runs.
func checkIssuer(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Sprintf("%q is not an issuer URL such as \"https://id.example.org\" (no query, fragment or user).", issuer)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && !isLoopback(h) {
			return fmt.Sprintf("%q is plain http: sign-in tokens would cross the network in clear text. Use https (http is allowed only for a loopback test issuer).", issuer)
		}
	default:
		return fmt.Sprintf("%q must start with https://.", issuer)
	}
	if strings.ContainsAny(issuer, "\"\\ ") {
		return fmt.Sprintf("%q has quotes, backslashes or spaces.", issuer)
	}
	return ""
}

func isLoopback(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// cookieSecretBytes is the key oauth2-proxy makes of a cookie secret: the
// base64url decoding when that is 16, 24 or 32 bytes, else the raw string.
func cookieSecretBytes(s string) []byte {
	if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
		if n := len(b); n == 16 || n == 24 || n == 32 {
			return b
		}
	}
	return []byte(s)
}

// gatewayAttributes decodes the gateway's own attributes into gw: its
// domain, ports (which no engine may take), cookie secret, limits on bodies
// and streams, images and the gateway-wide rate limit a rate_limit block
// may change.
func gatewayAttributes(a *lang.Attrs, b *hcl.Block, gw *spec.Gateway, engines []*spec.Engine) {
	gw.Domain = a.Str("domain", "")
	if gw.Domain != "" && !domainName.MatchString(gw.Domain) {
		a.Errorf("domain", "Invalid domain", "%q is not a host name: use the DNS name members reach the appliance by, such as \"llm.example.org\", without a scheme or port.", gw.Domain)
	}
	gw.HTTPSPort = a.Integer("https_port", 443, 1, 65535)
	gw.HTTPPort = a.Integer("http_port", 80, 1, 65535)
	gw.AuthPort = a.Integer("auth_port", 4180, 1024, 65535)
	ports := map[int]string{}
	for _, p := range []struct {
		name string
		port int
	}{{"https_port", gw.HTTPSPort}, {"http_port", gw.HTTPPort}, {"auth_port", gw.AuthPort}} {
		if prev, ok := ports[p.port]; ok {
			a.Errorf(p.name, "Port already in use", "%s and %s are both %d; each needs its own port.", prev, p.name, p.port)
		}
		ports[p.port] = p.name
	}
	for _, eng := range engines {
		for port, name := range ports {
			if eng.Port == port {
				a.Errorf(name, "Port already in use", "Engine %q listens on port %d (%s), which the gateway's %s would take too.", eng.Name, port, eng.DeclRange, name)
			}
		}
	}
	gw.CookieSecret = a.Secret("cookie_secret")
	if s := gw.CookieSecret; s != nil {
		if n := len(cookieSecretBytes(s.Value)); n != 16 && n != 24 && n != 32 {
			a.Errorf("cookie_secret", "Invalid cookie secret", "oauth2-proxy needs a cookie secret of 16, 24 or 32 bytes, or their base64url encoding; this one is %d bytes. `openssl rand -base64 32 | tr -- '+/' '-_'` makes one (sovereign init writes one).", n)
		}
	}
	gw.MaxBodySize = 64 << 20
	if a.Has("max_body_size") {
		gw.MaxBodySize = a.Size("max_body_size")
		if gw.MaxBodySize < 1<<20 && !a.Diags.HasErrors() {
			a.Errorf("max_body_size", "Value out of range", "max_body_size must be at least 1MiB: long prompts and images are bigger than nginx's 1MiB default already.")
		}
	}
	gw.StreamTimeout = a.Duration("stream_timeout", time.Hour)
	gw.DrainRetryAfter = a.Duration("drain_retry_after", time.Minute)
	// Unset, the gateway module picks its default images.
	gw.NginxImage = spec.Image{Ref: a.Str("nginx_image", ""), Range: a.Range("nginx_image", b.DefRange)}
	gw.OAuth2ProxyImage = spec.Image{Ref: a.Str("oauth2_proxy_image", ""), Range: a.Range("oauth2_proxy_image", b.DefRange)}
}

// requiredBlocks reports the tls and oidc blocks a gateway lacks.
func requiredBlocks(b *hcl.Block, seen map[string]int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, need := range []string{"tls", "oidc"} {
		if seen[need] == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing " + need + " block",
				Detail:   fmt.Sprintf("A gateway needs a %s block: %s.", need, map[string]string{"tls": "tls { certificate = file(\"tls/cert.pem\")  key = secret_file(\"tls/key.pem\") }", "oidc": "oidc { issuer = \"https://id.example.org\"  client_id = \"sovereign\"  client_secret = secret_file(\"oidc-client.secret\") }"}[need]),
				Subject:  b.DefRange.Ptr(),
			})
		}
	}
	return diags
}

// gatewayMembers decodes the members, from the gateway block and its
// members_file, into gw: one name, one email and one API key each.
func (e *evaluator) gatewayMembers(a *lang.Attrs, b *hcl.Block, gw *spec.Gateway, memberBlocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if p := a.Str("members_file", ""); p != "" {
		gw.MembersFile = lang.CleanRel(e.BaseDir, p)
		blocks, d := e.membersFile(p, a.Range("members_file", b.DefRange))
		diags = append(diags, d...)
		memberBlocks = append(memberBlocks, blocks...)
	}

	served := map[string]bool{}
	for _, r := range gw.Routes {
		for _, eng := range r.Engines {
			served[eng.ServedModelName] = true
		}
	}
	names := map[string]*spec.Member{}
	emails := map[string]*spec.Member{}
	keys := map[string]*spec.Member{}
	for _, blk := range memberBlocks {
		m, d := e.member(blk, lang.KeysOf(served))
		diags = append(diags, d...)
		if m == nil {
			continue
		}
		if prev, ok := names[m.Name]; ok {
			diags = append(diags, lang.DuplicateDiag("member", m.Name, blk.LabelRanges[0], prev.DeclRange))
			continue
		}
		if prev, ok := emails[strings.ToLower(m.Email)]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate member email",
				Detail:   fmt.Sprintf("Member %q already signs in as %s (%s); one address is one member.", prev.Name, m.Email, prev.DeclRange),
				Subject:  blk.DefRange.Ptr(),
			})
			continue
		}
		hash := m.APIKeySHA256
		if m.APIKey != nil {
			sum := sha256.Sum256([]byte(m.APIKey.Value))
			hash = hex.EncodeToString(sum[:])
		}
		if hash != "" {
			if prev, ok := keys[hash]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Two members share an API key",
					Detail:   fmt.Sprintf("This key is also member %q's; a key must name one member. Give each member a key of their own.", prev.Name),
					Subject:  blk.DefRange.Ptr(),
				})
				continue
			}
			keys[hash] = m
		}
		names[m.Name] = m
		emails[strings.ToLower(m.Email)] = m
		gw.Members = append(gw.Members, m)
	}
	return diags
}

// checkRoutes reports a gateway without routes and two routes on one path.
// A route with an error of its own is counted (routes is how many route
// blocks there were), so that one mistake gives one error.
func checkRoutes(b *hcl.Block, gw *spec.Gateway, routes int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if routes == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No routes",
			Detail:   "A gateway needs at least one route: route \"/v1/\" { engine = engine.vllm.main }.",
			Subject:  b.DefRange.Ptr(),
		})
	}
	paths := map[string]*spec.Route{}
	for _, r := range gw.Routes {
		if prev, ok := paths[r.Path]; ok {
			diags = append(diags, lang.DuplicateDiag("route", r.Path, r.DeclRange, prev.DeclRange))
		}
		paths[r.Path] = r
	}
	return diags
}

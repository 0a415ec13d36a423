// Package gateway compiles the gateway block: nginx terminating TLS in front
// of the engines and oauth2-proxy signing members in with the collective's
// identity provider, each in its own Quadlet on the host network.
//
// The request path has two hops inside one nginx:
//
//	client ─TLS─▶ outer server: drain check, then auth_request
//	                (API key from a map, else oauth2-proxy's session cookie),
//	                resolves the member name
//	        ─unix socket─▶ inner server: per-member and global limit_req keyed
//	                on X-Sovereign-Member, the member's allowed models,
//	                the engine's internal key
//	        ─127.0.0.1─▶ engine /v1/…
//
// Two hops because nginx runs limit_req (PREACCESS) before auth_request
// (ACCESS): a limit keyed on the authenticated member in the same server
// would see an empty key and never limit. The inner server listens on a
// unix socket inside the nginx container, so nothing on the host can reach
// it and forge the member header; the engines answer only the internal key
// the inner server sends.
package gateway

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	nc "github.com/sovereign-collective/sovereign/modules/gateway/nginxconf"
	"github.com/sovereign-collective/sovereign/modules/usage"
	"github.com/sovereign-collective/sovereign/units"
)

// The gateway's images when the blueprint names none: digests of multi-arch
// indexes (linux/amd64 and linux/arm64) as their registries publish them.
// `sovereign lock` refreshes them.
const (
	DefaultNginxImage       = "docker.io/library/nginx:1.27.4-alpine@sha256:4ff102c5d78d254a6f0da062b3cf39eaf07f01eec0927fd21e219d0af8bc0591"
	DefaultOAuth2ProxyImage = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3@sha256:10a1165743a192e1940b4708fb9647027185ce11a681a1c5519b442ff7f1f561"
)

// imageOr is img, or def in its place when the blueprint names none.
func imageOr(img spec.Image, def string) spec.Image {
	if img.Ref == "" {
		img.Ref = def
	}
	return img
}

// Where the gateway's files live on the appliance. Each container mounts its
// own folder read-only at the same path, so the configs name one path that
// is right on the host and in the container.
const (
	Dir        = "/etc/sovereign/gateway"
	NginxDir   = Dir + "/nginx"
	NginxConf  = NginxDir + "/nginx.conf"
	APIKeysMap = NginxDir + "/apikeys.map"
	KeyHashJS  = NginxDir + "/keyhash.js"
	RouteJS    = NginxDir + "/route.js"
	UsageJS    = NginxDir + "/usage.js"
	CertFile   = NginxDir + "/tls/cert.pem"
	KeyFile    = NginxDir + "/tls/key.pem"
	OAuth2Dir  = Dir + "/oauth2-proxy"
	OAuth2Conf = OAuth2Dir + "/oauth2-proxy.cfg"
	EmailsFile = OAuth2Dir + "/emails"
	OAuth2Env  = units.SecretsDir + "/gateway-oauth2-proxy.env"
	NginxUnit  = "gateway-nginx.container"
	// nginxContainer is the nginx container's name, which the usage log's
	// rotation signals.
	nginxContainer = "sovereign-nginx"
	OAuth2Unit     = "gateway-oauth2-proxy.container"
	innerSocket    = "/run/sovereign-gateway-inner.sock"
	adminSocket    = "/run/sovereign-gateway-admin.sock"
	// nginxTemp is where the nginx image keeps request bodies and
	// responses that do not fit in memory (its compiled-in default).
	nginxTemp = "/var/cache/nginx"
)

// EngineAuthFile is the 0600 nginx snippet that sets the Authorization
// header the gateway sends engine eng of a single host.
func EngineAuthFile(eng *spec.Engine) string { return engineAuthFile(eng.Name, "") }

// Monitoring is what the metrics block asks of the gateway: count each
// member's tokens into the usage log, and let its admins reach Grafana at
// /grafana/. Nil without a metrics block.
type Monitoring struct {
	// Admins are the names of the members who may see Grafana.
	Admins []string
	// Grafana is the host:port Grafana listens on, on the host's loopback.
	Grafana string
	// Status is what the members' status page asks Prometheus.
	Status *Status
}

// Compile returns the gateway's contribution to the appliance tree. A value
// that cannot be written into nginx's configuration as given (the loader
// refuses those first) is an error at the gateway block, and no tree.
func Compile(gw *spec.Gateway, mon *Monitoring) (*units.Tree, hcl.Diagnostics) {
	at := gw.DeclRange
	conf, err := NginxConfig(gw, mon)
	if err != nil {
		return nil, renderDiag(gw, NginxConf, err)
	}
	keys, err := apiKeysMap(gw)
	if err != nil {
		return nil, renderDiag(gw, APIKeysMap, err)
	}
	t := &units.Tree{
		Directories: []*units.Directory{
			{Path: Dir, Mode: 0o755, Origin: at},
			{Path: NginxDir, Mode: 0o755, Origin: at},
			{Path: path.Dir(CertFile), Mode: 0o755, Origin: at},
			{Path: OAuth2Dir, Mode: 0o755, Origin: at},
		},
		Files: []*units.File{
			{Path: NginxConf, Mode: 0o644, Contents: []byte(conf), Origin: at},
			{Path: APIKeysMap, Mode: 0o600, Secret: true, Contents: []byte(keys), Origin: at},
			{Path: CertFile, Mode: 0o644, Contents: []byte(withNewline(gw.Certificate)), Origin: at},
			{Path: KeyFile, Mode: 0o600, Secret: true, Contents: []byte(withNewline(gw.Key.Value)), Origin: gw.Key.Range},
			{Path: OAuth2Conf, Mode: 0o644, Contents: []byte(OAuth2ProxyConfig(gw)), Origin: gw.OIDC.DeclRange},
			{Path: EmailsFile, Mode: 0o644, Contents: []byte(emails(gw)), Origin: at},
			{Path: OAuth2Env, Mode: 0o600, Secret: true, Origin: gw.OIDC.ClientSecret.Range, Contents: []byte(
				"OAUTH2_PROXY_CLIENT_SECRET=" + gw.OIDC.ClientSecret.Value + "\n" +
					"OAUTH2_PROXY_COOKIE_SECRET=" + gw.CookieSecret.Value + "\n")},
		},
	}
	if hashedKeys(gw) {
		t.Files = append(t.Files, &units.File{Path: KeyHashJS, Mode: 0o644, Contents: []byte(keyHashJS), Origin: at})
	}
	if byModel(gw) {
		js, err := routeJS(gw)
		if err != nil {
			return nil, renderDiag(gw, RouteJS, err)
		}
		t.Files = append(t.Files, &units.File{Path: RouteJS, Mode: 0o644, Contents: []byte(js), Origin: at})
	}
	if mon != nil {
		logs := usageLogTree(at)
		t.Directories = append(t.Directories, logs.Directories...)
		t.Files = append(t.Files, logs.Files...)
		t.Units = append(t.Units, logs.Units...)
		t.Links = append(t.Links, logs.Links...)
		t.Files = append(t.Files, &units.File{Path: UsageJS, Mode: 0o644, Contents: []byte(usageJS), Origin: at})
		if mon.Status != nil {
			js, err := statusJS(mon.Status)
			if err != nil {
				return nil, renderDiag(gw, StatusJS, err)
			}
			t.Files = append(t.Files, &units.File{Path: StatusJS, Mode: 0o644, Contents: []byte(js), Origin: at})
		}
	}
	auth, err := engineAuthFiles(gw)
	if err != nil {
		return nil, renderDiag(gw, engineAuthFile("*", ""), err)
	}
	t.Files = append(t.Files, auth...)
	t.Units = append(t.Units, oauth2ProxyUnit(gw), nginxUnit(gw, mon))
	return t, nil
}

// renderDiag says that file could not be written from the gateway block.
// The loader checks every value first; this is the backstop that keeps a
// value from changing the meaning of a config it was not checked for.
func renderDiag(gw *spec.Gateway, file string, err error) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Value not allowed in the gateway's configuration",
		Detail:   fmt.Sprintf("%s cannot be written: %v.", path.Base(file), err),
		Subject:  gw.DeclRange.Ptr(),
	}}
}

func oauth2ProxyUnit(gw *spec.Gateway) *units.Unit {
	img := imageOr(gw.OAuth2ProxyImage, DefaultOAuth2ProxyImage)
	u := &units.Unit{
		Name:    OAuth2Unit,
		Comment: []string{"Generated by sovereign from the gateway block.", "Image: " + img.Ref},
		Image:   &units.Image{Ref: img.Ref, Origin: img.Range},
		Origin:  gw.OIDC.DeclRange,
	}
	u.Set("Unit", "Description", "sovereign gateway: oauth2-proxy signs members in with "+gw.OIDC.Issuer)
	u.Set("Unit", "Wants", "network-online.target")
	u.Set("Unit", "After", "network-online.target")
	u.Set("Container", "ContainerName", "sovereign-oauth2-proxy")
	u.Set("Container", "Pull", "missing")
	// Host networking, listening on 127.0.0.1 only: nginx is its only
	// client.
	u.Set("Container", "Network", "host")
	u.Set("Container", "Volume", OAuth2Dir+":"+OAuth2Dir+":ro,Z")
	// The image runs as an unprivileged user that could not read a 0600
	// file; Podman reads the secrets on the host and passes them in.
	u.Set("Container", "EnvironmentFile", OAuth2Env)
	u.Set("Container", "ReadOnly", "true")
	u.Set("Container", "NoNewPrivileges", "true")
	u.Set("Container", "DropCapability", "all")
	u.Set("Container", "Exec", units.QuoteCommand([]string{"--config=" + OAuth2Conf}))
	// oauth2-proxy exits at start when the identity provider cannot be
	// reached (OIDC discovery); keep retrying until the uplink is back.
	u.Set("Service", "Restart", "always")
	u.Set("Service", "RestartSec", "10")
	u.Set("Install", "WantedBy", "multi-user.target")
	return u
}

func nginxUnit(gw *spec.Gateway, mon *Monitoring) *units.Unit {
	img := imageOr(gw.NginxImage, DefaultNginxImage)
	u := &units.Unit{
		Name:    NginxUnit,
		Comment: []string{"Generated by sovereign from the gateway block.", "Image: " + img.Ref},
		Image:   &units.Image{Ref: img.Ref, Origin: img.Range},
		Origin:  gw.DeclRange,
	}
	oauth2Service := units.ServiceOf(OAuth2Unit)
	u.Set("Unit", "Description", "sovereign gateway: nginx (TLS, members, rate limits) for "+gw.Domain)
	u.Set("Unit", "Wants", "network-online.target "+oauth2Service)
	// Not ordered after the engines: an engine's unit becomes active only
	// once its model is loaded and healthy, which can take hours, and
	// nginx would stay dark (no /health, no sign-in, no drain) and hold
	// boot from finishing that long. The gateway starts at once and
	// answers 503 model_loading with Retry-After until an engine listens.
	u.Set("Unit", "After", "network-online.target "+oauth2Service)
	u.Set("Container", "ContainerName", nginxContainer)
	u.Set("Container", "Pull", "missing")
	u.Set("Container", "Network", "host")
	u.Set("Container", "Volume", NginxDir+":"+NginxDir+":ro,Z")
	// The drain flag's folder, shared with whoever raises it (UPS hooks,
	// an operator); nginx only tests for the file.
	u.Set("Container", "Volume", path.Dir(units.DrainFlag)+":"+path.Dir(units.DrainFlag)+":ro,z")
	if mon != nil {
		// The usage log, which the metrics stack's mtail reads.
		u.Set("Container", "Volume", usage.LogDir+":"+usage.LogDir+":z")
	}
	u.Set("Container", "NoNewPrivileges", "true")
	u.Set("Container", "Exec", units.QuoteCommand([]string{"nginx", "-c", NginxConf, "-g", "daemon off;"}))
	u.Set("Container", "HealthCmd", fmt.Sprintf("wget -q -O /dev/null http://127.0.0.1:%d/health", gw.HTTPPort))
	u.Set("Container", "HealthInterval", "30s")
	u.Set("Container", "HealthOnFailure", "kill")
	// systemd creates the drain folder (in /run: a reboot clears a
	// forgotten flag) and keeps it when nginx stops.
	u.Set("Service", "RuntimeDirectory", strings.TrimPrefix(path.Dir(units.DrainFlag), "/run/"))
	u.Set("Service", "RuntimeDirectoryMode", "0755")
	u.Set("Service", "RuntimeDirectoryPreserve", "yes")
	u.Set("Service", "Restart", "always")
	u.Set("Service", "RestartSec", "5")
	u.Set("Install", "WantedBy", "multi-user.target")
	return u
}

// routeEngines are route r's engines: Engines, or Engine alone.
func routeEngines(r *spec.Route) []*spec.Engine {
	if len(r.Engines) > 0 {
		return r.Engines
	}
	return []*spec.Engine{r.Engine}
}

// engineAuthFiles are the 0600 snippets with the keys the gateway sends
// its engines: one per engine, or per engine and host in a fleet.
func engineAuthFiles(gw *spec.Gateway) ([]*units.File, error) {
	var out []*units.File
	add := func(eng *spec.Engine, host string) error {
		if eng.APIKey == nil {
			return nil // an engine that checks no key (NIM)
		}
		p, whose := engineAuthFile(eng.Name, host), "engine "+eng.Name
		if host != "" {
			whose = "host " + host + "'s " + whose
		}
		auth, err := nc.Render([]nc.Node{
			nc.Comment("Generated by sovereign: the key only the gateway sends " + whose + "."),
			nc.D("proxy_set_header", nc.Lit("Authorization"), nc.Lit("Bearer "+eng.APIKey.Value)),
		})
		if err != nil {
			return errors.New("the key of " + path.Base(p) + " cannot be written")
		}
		out = append(out, &units.File{Path: p, Mode: 0o600, Secret: true, Origin: eng.APIKey.Range, Contents: []byte(auth)})
		return nil
	}
	for _, eng := range routedEngines(gw) {
		up := gw.Upstreams[eng.Name]
		if up == nil || up.LLMD != nil {
			if err := add(eng, ""); err != nil {
				return nil, err
			}
			continue
		}
		for _, s := range up.Servers {
			if err := add(s.Engine, s.Host); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// routedEngines are the engines the routes name, each once, by name.
func routedEngines(gw *spec.Gateway) []*spec.Engine {
	seen := map[string]bool{}
	var out []*spec.Engine
	for _, r := range gw.Routes {
		for _, eng := range routeEngines(r) {
			if !seen[eng.Name] {
				seen[eng.Name] = true
				out = append(out, eng)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func emails(gw *spec.Gateway) string {
	var b strings.Builder
	for _, m := range gw.Members {
		b.WriteString(m.Email + "\n")
	}
	return b.String()
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

package llmd_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/modules/llmd"
)

// The endpoint picker's configuration schema, transcribed field for field
// from llm-d's router (github.com/llm-d/llm-d-router):
//
//   - apix/config/v1alpha1/endpointpickerconfig_types.go: EndpointPickerConfig
//     and the types below it, at the release line whose data layer names
//     its discovery plugin as dataLayer.discovery.pluginRef (the shape of
//     https://llm-d.ai/blog/running-llm-d-without-kubernetes, llm-d 0.8;
//     later main moved it to dataLayer.discovery.endpoints.pluginRef);
//   - pkg/epp/framework/plugins/datalayer/discovery/file/plugin.go: the
//     file-discovery plugin's parameters and its endpoints file.
//
// The picker decodes its configuration strictly (serializer.EnableStrict
// in pkg/epp/config/loader/configloader.go) and every plugin's parameters
// with a strict decoder, so this test does too. Sub-objects sovereign never
// writes (flow control, request handling, the deprecated top-level
// saturationDetector and parser, feature gates' values) are kept raw:
// the test refuses them as fields sovereign must not emit.
type eppConfig struct {
	Kind               string              `json:"kind"`
	APIVersion         string              `json:"apiVersion"`
	FeatureGates       []string            `json:"featureGates,omitempty"`
	Plugins            []eppPluginSpec     `json:"plugins"`
	SchedulingProfiles []eppProfile        `json:"schedulingProfiles"`
	DataLayer          *eppDataLayerConfig `json:"dataLayer"`
	FlowControl        json.RawMessage     `json:"flowControl,omitempty"`
	RequestHandler     json.RawMessage     `json:"requestHandler,omitempty"`
	SaturationDetector json.RawMessage     `json:"saturationDetector,omitempty"`
	Parser             json.RawMessage     `json:"parser,omitempty"`
}

type eppPluginSpec struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Parameters json.RawMessage `json:"parameters"`
}

type eppProfile struct {
	Name    string             `json:"name"`
	Plugins []eppProfilePlugin `json:"plugins"`
}

type eppProfilePlugin struct {
	PluginRef string   `json:"pluginRef"`
	Weight    *float64 `json:"weight"`
}

type eppDataLayerConfig struct {
	InjectDefaults              *bool           `json:"injectDefaults,omitempty"`
	Sources                     json.RawMessage `json:"sources,omitempty"`
	Discovery                   *eppPluginRef   `json:"discovery,omitempty"`
	PeerDiscovery               *eppPluginRef   `json:"peerDiscovery,omitempty"`
	CrossReplicaSyncerPluginRef string          `json:"crossReplicaSyncerPluginRef,omitempty"`
	CrossReplicaSyncInterval    string          `json:"crossReplicaSyncInterval,omitempty"`
}

type eppPluginRef struct {
	PluginRef string `json:"pluginRef"`
}

// eppFileDiscovery is the file-discovery plugin's parameters.
type eppFileDiscovery struct {
	Path      string `json:"path"`
	WatchFile bool   `json:"watchFile"`
}

// eppEndpointsFile is what the file-discovery plugin reads.
type eppEndpointsFile struct {
	Endpoints []struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace,omitempty"`
		Address     string            `json:"address"`
		Port        string            `json:"port"`
		MetricsHost string            `json:"metricsHost,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
	} `json:"endpoints"`
}

// The plugin types sovereign may configure, with whether they are a
// scorer (which takes a weight in a profile).
var eppPluginTypes = map[string]bool{
	"file-discovery":              false,
	"prefix-cache-scorer":         true,
	"queue-scorer":                true,
	"kv-cache-utilization-scorer": true,
	"max-score-picker":            false,
	"single-profile-handler":      false,
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// checkPickerConfig decodes a rendered picker configuration against the
// schema and checks what the picker's loader checks: known plugin types,
// unique names, every reference resolved, one profile handler, the
// discovery plugin a file-discovery one whose file is absolute. It returns
// the endpoints file's path.
func checkPickerConfig(t *testing.T, data []byte) (string, error) {
	t.Helper()
	var cfg eppConfig
	if err := strictJSON(yamlToJSON(t, data), &cfg); err != nil {
		return "", err
	}
	if cfg.APIVersion != "llm-d.ai/v1alpha1" || cfg.Kind != "EndpointPickerConfig" {
		return "", fmt.Errorf("apiVersion %q kind %q", cfg.APIVersion, cfg.Kind)
	}
	if len(cfg.FlowControl)+len(cfg.RequestHandler)+len(cfg.SaturationDetector)+len(cfg.Parser) > 0 || len(cfg.FeatureGates) > 0 {
		return "", fmt.Errorf("fields sovereign does not write")
	}
	byName := map[string]eppPluginSpec{}
	handlers := 0
	for _, p := range cfg.Plugins {
		name := p.Name
		if name == "" {
			name = p.Type // the picker's own default
		}
		if _, ok := eppPluginTypes[p.Type]; !ok {
			return "", fmt.Errorf("plugin type %q", p.Type)
		}
		if _, dup := byName[name]; dup {
			return "", fmt.Errorf("plugin %q twice", name)
		}
		byName[name] = p
		if p.Type == "single-profile-handler" {
			handlers++
		}
		if p.Type != "file-discovery" && len(p.Parameters) > 0 {
			return "", fmt.Errorf("plugin %q has parameters", name)
		}
	}
	if handlers != 1 || len(cfg.SchedulingProfiles) != 1 {
		return "", fmt.Errorf("%d profile handlers, %d profiles; a single-profile handler takes one", handlers, len(cfg.SchedulingProfiles))
	}
	for _, pr := range cfg.SchedulingProfiles[0].Plugins {
		p, ok := byName[pr.PluginRef]
		if !ok {
			return "", fmt.Errorf("profile names plugin %q, which is not declared", pr.PluginRef)
		}
		if pr.Weight != nil && !eppPluginTypes[p.Type] {
			return "", fmt.Errorf("plugin %q has a weight but is no scorer", pr.PluginRef)
		}
	}
	if cfg.DataLayer == nil || cfg.DataLayer.Discovery == nil {
		return "", fmt.Errorf("no dataLayer.discovery: the picker would need Kubernetes")
	}
	disc, ok := byName[cfg.DataLayer.Discovery.PluginRef]
	if !ok || disc.Type != "file-discovery" {
		return "", fmt.Errorf("discovery plugin %q is not a declared file-discovery plugin", cfg.DataLayer.Discovery.PluginRef)
	}
	var params eppFileDiscovery
	if err := strictJSON(disc.Parameters, &params); err != nil {
		return "", fmt.Errorf("file-discovery parameters: %w", err)
	}
	if !path.IsAbs(params.Path) {
		return "", fmt.Errorf("file-discovery path %q is not absolute", params.Path)
	}
	return params.Path, nil
}

// checkEndpoints is the file-discovery plugin's own validation of its
// file: unique names, literal IPv4 addresses, ports 1-65535 as strings.
func checkEndpoints(t *testing.T, data []byte) (eppEndpointsFile, error) {
	t.Helper()
	var f eppEndpointsFile
	if err := strictJSON(yamlToJSON(t, data), &f); err != nil {
		return f, err
	}
	seen := map[string]bool{}
	for _, e := range f.Endpoints {
		if seen[e.Name] || e.Name == "" {
			return f, fmt.Errorf("endpoint name %q empty or repeated", e.Name)
		}
		seen[e.Name] = true
		if ip := net.ParseIP(e.Address); ip == nil || ip.To4() == nil || strings.Contains(e.Address, ":") {
			return f, fmt.Errorf("endpoint %q: %q is not a literal IPv4 address", e.Name, e.Address)
		}
		if p, err := strconv.Atoi(e.Port); err != nil || p < 1 || p > 65535 {
			return f, fmt.Errorf("endpoint %q: port %q", e.Name, e.Port)
		}
	}
	return f, nil
}

// TestPickerConfigMatchesSchema: the reference fleet's picker
// configuration decodes strictly into the picker's schema, passes its
// loader's checks, and names the endpoints file sovereign writes, which
// lists every host's engine main on the address the gateway host reaches
// it at.
func TestPickerConfigMatchesSchema(t *testing.T) {
	files, gw, _ := loadRouter(t, referenceLLMD)
	conf := files[llmd.PickerConf("main")]
	epPath, err := checkPickerConfig(t, conf)
	if err != nil {
		t.Fatalf("picker configuration: %v\n%s", err, conf)
	}
	if epPath != llmd.EndpointsFile("main") || files[epPath] == nil {
		t.Fatalf("the picker reads %s; sovereign writes %s", epPath, llmd.EndpointsFile("main"))
	}
	eps, err := checkEndpoints(t, files[epPath])
	if err != nil {
		t.Fatalf("endpoints: %v\n%s", err, files[epPath])
	}
	var got, want []string
	for _, e := range eps.Endpoints {
		got = append(got, e.Labels["sovereign/host"]+"="+net.JoinHostPort(e.Address, e.Port))
	}
	for _, s := range gw.Upstreams["main"].Servers {
		want = append(want, s.Host+"="+s.Address.String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || len(got) != 2 {
		t.Errorf("endpoints %v, want every host's engine: %v", got, want)
	}
	if !strings.Contains(strings.Join(got, " "), "annex=10.77.0.2:8000") {
		t.Errorf("the other host's engine is not on its link address: %v", got)
	}
}

// TestPickerCheckRejects: the schema check refuses what the picker would:
// an unknown field (here the newer schema's discovery.endpoints), a
// reference to no plugin, an endpoint by host name.
func TestPickerCheckRejects(t *testing.T) {
	files, _, _ := loadRouter(t, referenceLLMD)
	conf := string(files[llmd.PickerConf("main")])
	for name, bad := range map[string]string{
		"unknown field":     strings.Replace(conf, "  discovery:\n    pluginRef: file-discovery", "  discovery:\n    endpoints:\n      pluginRef: file-discovery", 1),
		"dangling ref":      strings.Replace(conf, "- pluginRef: queue-scorer", "- pluginRef: queue-scorr", 1),
		"unknown parameter": strings.Replace(conf, "watchFile: true", "watchFile: true\n      watch: true", 1),
	} {
		if bad == conf {
			t.Fatalf("%s: the rewrite did not apply", name)
		}
		if _, err := checkPickerConfig(t, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	eps := strings.Replace(string(files[llmd.EndpointsFile("main")]), "address: 10.77.0.2", "address: annex.coop.example.org", 1)
	if _, err := checkEndpoints(t, []byte(eps)); err == nil {
		t.Errorf("an endpoint by host name: accepted")
	}
}

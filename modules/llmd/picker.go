package llmd

import (
	"bytes"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// The endpoint picker's configuration, as the llm-d router reads it
// (apiVersion llm-d.ai/v1alpha1, kind EndpointPickerConfig: the Go types
// of llm-d/llm-d-router, apix/config/v1alpha1/endpointpickerconfig_types.go,
// which the picker decodes strictly, refusing unknown fields). Only the
// fields sovereign writes are here.
type pickerConfig struct {
	APIVersion         string              `yaml:"apiVersion"`
	Kind               string              `yaml:"kind"`
	Plugins            []pluginSpec        `yaml:"plugins"`
	SchedulingProfiles []schedulingProfile `yaml:"schedulingProfiles"`
	DataLayer          dataLayer           `yaml:"dataLayer"`
}

type pluginSpec struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"`
	Parameters any    `yaml:"parameters,omitempty"`
}

type schedulingProfile struct {
	Name    string             `yaml:"name"`
	Plugins []schedulingPlugin `yaml:"plugins"`
}

type schedulingPlugin struct {
	PluginRef string   `yaml:"pluginRef"`
	Weight    *float64 `yaml:"weight,omitempty"`
}

// dataLayer names the discovery plugin: with it the picker takes its
// endpoints from that plugin and needs no Kubernetes API. The metrics
// source the scorers read is the data layer's default one (each
// endpoint's /metrics on its own address and port).
type dataLayer struct {
	Discovery pluginRef `yaml:"discovery"`
}

type pluginRef struct {
	PluginRef string `yaml:"pluginRef"`
}

// fileDiscovery is the file-discovery plugin's parameters
// (llm-d/llm-d-router, pkg/epp/framework/plugins/datalayer/discovery/file):
// the endpoints file, re-read when it changes.
type fileDiscovery struct {
	Path      string `yaml:"path"`
	WatchFile bool   `yaml:"watchFile"`
}

// endpointsFile is what file-discovery reads: each endpoint's name
// (unique), literal IPv4 address, port as a string, and labels.
type endpointsFile struct {
	Endpoints []endpoint `yaml:"endpoints"`
}

type endpoint struct {
	Name    string            `yaml:"name"`
	Address string            `yaml:"address"`
	Port    string            `yaml:"port"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// The plugins' names in the configuration (each is also its type).
const (
	pluginDiscovery      = "file-discovery"
	pluginPrefixCache    = "prefix-cache-scorer"
	pluginQueue          = "queue-scorer"
	pluginKVCache        = "kv-cache-utilization-scorer"
	pluginPicker         = "max-score-picker"
	pluginProfileHandler = "single-profile-handler"
)

// Scorer weights: a request's prompt prefix already in an engine's cache
// counts most (it skips that prefill), then a short queue and free KV
// cache; the weights llm-d's own examples give these three scorers.
var (
	weightPrefixCache = 3.0
	weightQueue       = 2.0
	weightKVCache     = 2.0
)

// pickerConfigFor is the configuration of the picker of upstream name.
func pickerConfigFor(name string) pickerConfig {
	return pickerConfig{
		APIVersion: "llm-d.ai/v1alpha1",
		Kind:       "EndpointPickerConfig",
		Plugins: []pluginSpec{
			{Name: pluginDiscovery, Type: pluginDiscovery, Parameters: fileDiscovery{Path: EndpointsFile(name), WatchFile: true}},
			{Name: pluginPrefixCache, Type: pluginPrefixCache},
			{Name: pluginQueue, Type: pluginQueue},
			{Name: pluginKVCache, Type: pluginKVCache},
			{Name: pluginPicker, Type: pluginPicker},
			{Name: pluginProfileHandler, Type: pluginProfileHandler},
		},
		SchedulingProfiles: []schedulingProfile{{
			Name: "default",
			Plugins: []schedulingPlugin{
				{PluginRef: pluginPrefixCache, Weight: &weightPrefixCache},
				{PluginRef: pluginQueue, Weight: &weightQueue},
				{PluginRef: pluginKVCache, Weight: &weightKVCache},
				{PluginRef: pluginPicker},
			},
		}},
		DataLayer: dataLayer{Discovery: pluginRef{PluginRef: pluginDiscovery}},
	}
}

// endpointsFor lists every host's engine of upstream up, on the address
// the gateway host reaches it at (the link, or loopback for its own).
func endpointsFor(up *spec.Upstream) endpointsFile {
	var f endpointsFile
	for _, s := range up.Servers {
		f.Endpoints = append(f.Endpoints, endpoint{
			Name:    s.Host + "-" + s.Engine.Name,
			Address: s.Address.Addr().String(),
			Port:    strconv.Itoa(int(s.Address.Port())),
			Labels: map[string]string{
				"sovereign/host":   s.Host,
				"sovereign/engine": s.Engine.Name,
				"sovereign/model":  s.Engine.ServedModelName,
			},
		})
	}
	return f
}

// renderYAML writes v as YAML, two spaces per level, after a comment line.
func renderYAML(comment string, v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# " + comment + "\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

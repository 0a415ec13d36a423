package llmd

import (
	"fmt"
	"sort"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Envoy's bootstrap, as the fields of its v3 API
// (envoy.config.bootstrap.v3.Bootstrap) in their proto JSON names. Only
// the fields sovereign writes are here; the tests decode the rendered
// YAML into Envoy's own Go types and validate it.
type bootstrap struct {
	Admin           admin           `yaml:"admin"`
	StaticResources staticResources `yaml:"static_resources"`
}

type admin struct {
	Address address `yaml:"address"`
}

type address struct {
	SocketAddress socketAddress `yaml:"socket_address"`
}

type socketAddress struct {
	Address   string `yaml:"address"`
	PortValue int    `yaml:"port_value"`
}

type staticResources struct {
	Listeners []listener `yaml:"listeners"`
	Clusters  []cluster  `yaml:"clusters"`
}

type listener struct {
	Name         string        `yaml:"name"`
	Address      address       `yaml:"address"`
	FilterChains []filterChain `yaml:"filter_chains"`
}

type filterChain struct {
	Filters []networkFilter `yaml:"filters"`
}

type networkFilter struct {
	Name        string                `yaml:"name"`
	TypedConfig httpConnectionManager `yaml:"typed_config"`
}

type httpConnectionManager struct {
	Type        string       `yaml:"@type"`
	StatPrefix  string       `yaml:"stat_prefix"`
	RouteConfig routeConfig  `yaml:"route_config"`
	HTTPFilters []httpFilter `yaml:"http_filters"`
}

type routeConfig struct {
	Name         string        `yaml:"name"`
	VirtualHosts []virtualHost `yaml:"virtual_hosts"`
}

type virtualHost struct {
	Name    string   `yaml:"name"`
	Domains []string `yaml:"domains"`
	Routes  []route  `yaml:"routes"`
}

type route struct {
	Match routeMatch  `yaml:"match"`
	Route routeAction `yaml:"route"`
}

type routeMatch struct {
	Prefix string `yaml:"prefix"`
}

type routeAction struct {
	Cluster     string `yaml:"cluster"`
	Timeout     string `yaml:"timeout"`
	IdleTimeout string `yaml:"idle_timeout"`
}

type httpFilter struct {
	Name        string `yaml:"name"`
	TypedConfig any    `yaml:"typed_config"`
}

type extProc struct {
	Type           string         `yaml:"@type"`
	GRPCService    grpcService    `yaml:"grpc_service"`
	ProcessingMode processingMode `yaml:"processing_mode"`
	MessageTimeout string         `yaml:"message_timeout"`
}

type grpcService struct {
	EnvoyGRPC envoyGRPC `yaml:"envoy_grpc"`
	Timeout   string    `yaml:"timeout"`
}

type envoyGRPC struct {
	ClusterName string `yaml:"cluster_name"`
}

type processingMode struct {
	RequestHeaderMode   string `yaml:"request_header_mode"`
	ResponseHeaderMode  string `yaml:"response_header_mode"`
	RequestBodyMode     string `yaml:"request_body_mode"`
	ResponseBodyMode    string `yaml:"response_body_mode"`
	RequestTrailerMode  string `yaml:"request_trailer_mode"`
	ResponseTrailerMode string `yaml:"response_trailer_mode"`
}

type routerFilter struct {
	Type                 string `yaml:"@type"`
	SuppressEnvoyHeaders bool   `yaml:"suppress_envoy_headers"`
}

type cluster struct {
	Name                          string                         `yaml:"name"`
	Type                          string                         `yaml:"type"`
	ConnectTimeout                string                         `yaml:"connect_timeout"`
	LBPolicy                      string                         `yaml:"lb_policy"`
	CircuitBreakers               circuitBreakers                `yaml:"circuit_breakers"`
	OriginalDstLBConfig           *originalDstLBConfig           `yaml:"original_dst_lb_config,omitempty"`
	TypedExtensionProtocolOptions map[string]httpProtocolOptions `yaml:"typed_extension_protocol_options,omitempty"`
	HealthChecks                  []healthCheck                  `yaml:"health_checks,omitempty"`
	LoadAssignment                *loadAssignment                `yaml:"load_assignment,omitempty"`
}

type circuitBreakers struct {
	Thresholds []thresholds `yaml:"thresholds"`
}

type thresholds struct {
	MaxConnections     int `yaml:"max_connections"`
	MaxPendingRequests int `yaml:"max_pending_requests"`
	MaxRequests        int `yaml:"max_requests"`
}

type originalDstLBConfig struct {
	UseHTTPHeader  bool   `yaml:"use_http_header"`
	HTTPHeaderName string `yaml:"http_header_name"`
}

type httpProtocolOptions struct {
	Type               string             `yaml:"@type"`
	ExplicitHTTPConfig explicitHTTPConfig `yaml:"explicit_http_config"`
}

type explicitHTTPConfig struct {
	HTTP2ProtocolOptions struct{} `yaml:"http2_protocol_options"`
}

type healthCheck struct {
	Timeout            string          `yaml:"timeout"`
	Interval           string          `yaml:"interval"`
	UnhealthyThreshold int             `yaml:"unhealthy_threshold"`
	HealthyThreshold   int             `yaml:"healthy_threshold"`
	GRPCHealthCheck    grpcHealthCheck `yaml:"grpc_health_check"`
}

type grpcHealthCheck struct {
	ServiceName string `yaml:"service_name"`
}

type loadAssignment struct {
	ClusterName string             `yaml:"cluster_name"`
	Endpoints   []localityEndpoint `yaml:"endpoints"`
}

type localityEndpoint struct {
	LBEndpoints []lbEndpoint `yaml:"lb_endpoints"`
}

type lbEndpoint struct {
	Endpoint endpointAddress `yaml:"endpoint"`
}

type endpointAddress struct {
	Address address `yaml:"address"`
}

// Type URLs of the extensions the bootstrap configures.
const (
	typeHTTPConnectionManager = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	typeExtProc               = "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"
	typeRouter                = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
	typeHTTPProtocolOptions   = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// DestinationHeader is where the picker names the engine ("IP:PORT") that
// Envoy's original-destination cluster sends a request to (the Gateway API
// Inference Extension's endpoint picker protocol,
// kubernetes-sigs/gateway-api-inference-extension,
// docs/proposals/004-endpoint-picker-protocol). Nobody but the picker may
// set it: the gateway's nginx clears it.
const DestinationHeader = "x-gateway-destination-endpoint"

const originalDestination = "original_destination_cluster"

// routerThresholds raise Envoy's circuit breakers (1024 connections,
// pending and active requests per cluster by default) past anything a
// gateway host sees: every request of a long generation holds one
// connection to its engine and one ext_proc stream to the picker for its
// whole length, and Envoy answers 503 past the limit rather than queue.
// 40000 is what llm-d's standalone chart gives both clusters
// (config/charts/llm-d-router-standalone/values.yaml); the limits that
// matter are the gateway's own per-member and global ones, in nginx.
var routerThresholds = circuitBreakers{Thresholds: []thresholds{{MaxConnections: 40000, MaxPendingRequests: 40000, MaxRequests: 40000}}}

// envoyBootstrap is Envoy's configuration on the gateway host: for each
// upstream a loopback listener whose requests wait on its picker (ext_proc,
// full-duplex streamed bodies so that the picker sees the prompt and the
// answer streams through) and then go to the engine it named, through
// the one original-destination cluster.
func envoyBootstrap(gw *spec.Gateway) bootstrap {
	names := make([]string, 0, len(gw.Upstreams))
	for name, up := range gw.Upstreams {
		if up.LLMD != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	b := bootstrap{Admin: admin{Address: loopback(spec.LLMDEnvoyAdminPort)}}
	for _, name := range names {
		r := gw.Upstreams[name].LLMD
		b.StaticResources.Listeners = append(b.StaticResources.Listeners, envoyListener(name, r, gw.StreamTimeout))
		b.StaticResources.Clusters = append(b.StaticResources.Clusters, pickerCluster(name, r))
	}
	b.StaticResources.Clusters = append(b.StaticResources.Clusters, cluster{
		Name: originalDestination,
		Type: "ORIGINAL_DST",
		// A powered-off host answers nothing; give up on it as nginx would.
		ConnectTimeout:      "3s",
		LBPolicy:            "CLUSTER_PROVIDED",
		CircuitBreakers:     routerThresholds,
		OriginalDstLBConfig: &originalDstLBConfig{UseHTTPHeader: true, HTTPHeaderName: DestinationHeader},
	})
	return b
}

func loopback(port int) address {
	return address{SocketAddress: socketAddress{Address: "127.0.0.1", PortValue: port}}
}

func pickerClusterName(name string) string { return "picker-" + name }

// envoyListener is upstream name's listener. A route's total timeout is
// off (a generation may run for long); the idle timeout is the gateway's
// stream timeout, the longest silence nginx also allows.
func envoyListener(name string, r *spec.LLMDRoute, idle time.Duration) listener {
	return listener{
		Name:    "upstream-" + name,
		Address: loopback(int(r.Envoy.Port())),
		FilterChains: []filterChain{{Filters: []networkFilter{{
			Name: "envoy.filters.network.http_connection_manager",
			TypedConfig: httpConnectionManager{
				Type:       typeHTTPConnectionManager,
				StatPrefix: "upstream_" + name,
				RouteConfig: routeConfig{Name: name, VirtualHosts: []virtualHost{{
					Name:    name,
					Domains: []string{"*"},
					Routes: []route{{
						Match: routeMatch{Prefix: "/"},
						Route: routeAction{Cluster: originalDestination, Timeout: "0s", IdleTimeout: seconds(idle)},
					}},
				}}},
				HTTPFilters: []httpFilter{
					{Name: "envoy.filters.http.ext_proc", TypedConfig: extProc{
						Type:        typeExtProc,
						GRPCService: grpcService{EnvoyGRPC: envoyGRPC{ClusterName: pickerClusterName(name)}, Timeout: "10s"},
						ProcessingMode: processingMode{
							RequestHeaderMode: "SEND", ResponseHeaderMode: "SEND",
							RequestBodyMode: "FULL_DUPLEX_STREAMED", ResponseBodyMode: "FULL_DUPLEX_STREAMED",
							// Full-duplex streaming needs the trailers sent.
							RequestTrailerMode: "SEND", ResponseTrailerMode: "SEND",
						},
						// A streamed answer is one ext_proc exchange per chunk,
						// and a long pause between chunks is not a failure.
						MessageTimeout: seconds(idle),
					}},
					{Name: "envoy.filters.http.router", TypedConfig: routerFilter{Type: typeRouter, SuppressEnvoyHeaders: true}},
				},
			},
		}}}},
	}
}

// pickerCluster is Envoy's way to upstream name's picker: gRPC (HTTP/2)
// on loopback, checked with the gRPC health protocol so that a picker
// that is down shows as such in Envoy's stats.
func pickerCluster(name string, r *spec.LLMDRoute) cluster {
	return cluster{
		Name:            pickerClusterName(name),
		Type:            "STATIC",
		ConnectTimeout:  "1s",
		LBPolicy:        "ROUND_ROBIN",
		CircuitBreakers: routerThresholds,
		TypedExtensionProtocolOptions: map[string]httpProtocolOptions{
			"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {Type: typeHTTPProtocolOptions},
		},
		HealthChecks: []healthCheck{{
			Timeout: "2s", Interval: "10s", UnhealthyThreshold: 3, HealthyThreshold: 2,
			GRPCHealthCheck: grpcHealthCheck{ServiceName: "envoy.service.ext_proc.v3.ExternalProcessor"},
		}},
		LoadAssignment: &loadAssignment{
			ClusterName: pickerClusterName(name),
			Endpoints: []localityEndpoint{{LBEndpoints: []lbEndpoint{{
				Endpoint: endpointAddress{Address: loopback(r.GRPCPort)},
			}}}},
		},
	}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int(d/time.Second)) }

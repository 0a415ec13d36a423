package llmd_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/llmd"
)

// The typed configurations the bootstrap carries in Any fields; importing
// their packages registers them, so that protojson resolves their type URLs.
var (
	_ = &routerv3.Router{}
	_ = &httpv3.HttpProtocolOptions{}
)

// decodeBootstrap reads a rendered bootstrap with Envoy's own Go types
// (strictly: an unknown field is an error) and runs their generated
// validation (protoc-gen-validate's rules, Envoy's own constraints) on the
// bootstrap and on every typed configuration inside it, which ValidateAll
// alone leaves packed.
func decodeBootstrap(t *testing.T, data []byte) (*bootstrapv3.Bootstrap, error) {
	t.Helper()
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(yamlToJSON(t, data), &b); err != nil {
		return nil, err
	}
	if err := b.ValidateAll(); err != nil {
		return nil, err
	}
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				var hcm hcmv3.HttpConnectionManager
				if err := f.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
					return nil, err
				}
				if err := hcm.ValidateAll(); err != nil {
					return nil, err
				}
				for _, hf := range hcm.GetHttpFilters() {
					inner, err := hf.GetTypedConfig().UnmarshalNew()
					if err != nil {
						return nil, err
					}
					if err := validate(inner); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	for _, c := range b.GetStaticResources().GetClusters() {
		for _, opts := range c.GetTypedExtensionProtocolOptions() {
			inner, err := opts.UnmarshalNew()
			if err != nil {
				return nil, err
			}
			if err := validate(inner); err != nil {
				return nil, err
			}
		}
	}
	return &b, nil
}

func validate(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		return v.ValidateAll()
	}
	return nil
}

// TestEnvoyBootstrapValidates decodes the reference fleet's Envoy
// bootstrap with Envoy's Go types and validates it, then checks that it
// wires what llm-d's router needs: the listener nginx sends to, ext_proc
// to the picker with full-duplex streamed bodies, the original-destination
// cluster keyed on the picker's header, circuit breakers raised.
func TestEnvoyBootstrapValidates(t *testing.T) {
	files, gw, _ := loadRouter(t, referenceLLMD)
	b, err := decodeBootstrap(t, files[llmd.EnvoyConf])
	if err != nil {
		t.Fatalf("Envoy's types refuse the bootstrap: %v\n%s", err, files[llmd.EnvoyConf])
	}
	r := gw.Upstreams["main"].LLMD
	clusters := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		clusters[c.GetName()] = c
		for _, th := range c.GetCircuitBreakers().GetThresholds() {
			if th.GetMaxRequests().GetValue() <= 1024 || th.GetMaxPendingRequests().GetValue() <= 1024 || th.GetMaxConnections().GetValue() <= 1024 {
				t.Errorf("cluster %s keeps Envoy's default circuit breakers: %v", c.GetName(), th)
			}
		}
		if len(c.GetCircuitBreakers().GetThresholds()) == 0 {
			t.Errorf("cluster %s has no circuit breakers of its own", c.GetName())
		}
	}
	od := clusters["original_destination_cluster"]
	if od.GetType() != clusterv3.Cluster_ORIGINAL_DST || od.GetLbPolicy() != clusterv3.Cluster_CLUSTER_PROVIDED ||
		!od.GetOriginalDstLbConfig().GetUseHttpHeader() || od.GetOriginalDstLbConfig().GetHttpHeaderName() != llmd.DestinationHeader {
		t.Errorf("original-destination cluster: %v", od)
	}
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 {
		t.Fatalf("%d listeners, want one for upstream main", len(listeners))
	}
	sa := listeners[0].GetAddress().GetSocketAddress()
	if sa.GetAddress() != "127.0.0.1" || sa.GetPortValue() != uint32(r.Envoy.Port()) {
		t.Errorf("listener on %s:%d, want %s (where nginx sends)", sa.GetAddress(), sa.GetPortValue(), r.Envoy)
	}
	var hcm hcmv3.HttpConnectionManager
	if err := listeners[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	if got := hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetCluster(); got != "original_destination_cluster" {
		t.Errorf("the route goes to cluster %q", got)
	}
	var ep extprocv3.ExternalProcessor
	if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&ep); err != nil {
		t.Fatalf("the first HTTP filter is not ext_proc: %v", err)
	}
	mode := ep.GetProcessingMode()
	if mode.GetRequestBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED || mode.GetResponseBodyMode() != extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED {
		t.Errorf("ext_proc body modes %v/%v, want FULL_DUPLEX_STREAMED", mode.GetRequestBodyMode(), mode.GetResponseBodyMode())
	}
	picker := clusters[ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()]
	if picker == nil {
		t.Fatalf("ext_proc names cluster %q, which the bootstrap lacks", ep.GetGrpcService().GetEnvoyGrpc().GetClusterName())
	}
	psa := picker.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
	if psa.GetAddress() != "127.0.0.1" || psa.GetPortValue() != uint32(r.GRPCPort) {
		t.Errorf("picker cluster at %s:%d, want 127.0.0.1:%d (the picker's --grpc-port)", psa.GetAddress(), psa.GetPortValue(), r.GRPCPort)
	}
}

// TestEnvoyBootstrapCheckRejects: the check above fails on what Envoy
// would refuse, a field it does not know and a value out of its range.
func TestEnvoyBootstrapCheckRejects(t *testing.T) {
	files, _, _ := loadRouter(t, referenceLLMD)
	good := string(files[llmd.EnvoyConf])
	for name, bad := range map[string]string{
		"unknown field":  strings.Replace(good, "lb_policy: CLUSTER_PROVIDED", "lb_policy: CLUSTER_PROVIDED\n      lb_polcy: CLUSTER_PROVIDED", 1),
		"port too large": strings.Replace(good, "port_value: 19000", "port_value: 190000", 1),
		"unknown mode":   strings.Replace(good, "request_body_mode: FULL_DUPLEX_STREAMED", "request_body_mode: STREAMING", 1),
	} {
		if bad == good {
			t.Fatalf("%s: the rewrite did not apply", name)
		}
		if _, err := decodeBootstrap(t, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// twoUpstreams is a gateway host routing two engine names with llm-d,
// each on two hosts, as the fleet decoder wires them.
func twoUpstreams() (*spec.FleetHost, *spec.Gateway) {
	gwHost := &spec.Host{Name: "gw"}
	f := &spec.Fleet{Name: "lab", Router: spec.RouterLLMD, Hosts: []*spec.Host{gwHost}, GatewayHost: gwHost,
		EndpointPickerImage: spec.Image{Ref: "picker"}, EnvoyImage: spec.Image{Ref: "envoy"}}
	gw := &spec.Gateway{StreamTimeout: 10 * time.Minute, Upstreams: map[string]*spec.Upstream{}}
	for i, name := range []string{"big", "small"} {
		var servers []spec.UpstreamServer
		for j, h := range []string{"b", "c"} {
			servers = append(servers, spec.UpstreamServer{Host: h, Engine: &spec.Engine{Name: name, ServedModelName: name + "-model"},
				Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 77, 0, byte(2 + j)}), uint16(8000+i))})
		}
		gw.Upstreams[name] = &spec.Upstream{Servers: servers, LLMD: &spec.LLMDRoute{
			Index: i, Envoy: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(19100+i)),
			GRPCPort: 19200 + i, GRPCHealthPort: 19300 + i, MetricsPort: 19400 + i,
		}}
	}
	return &spec.FleetHost{Fleet: f, Host: gwHost}, gw
}

// TestEnvoyTwoUpstreams: two engine names routed by llm-d make two
// listeners, each asking its own picker, in one bootstrap Envoy accepts;
// each picker lists only its own engine name's servers.
func TestEnvoyTwoUpstreams(t *testing.T) {
	fh, gw := twoUpstreams()
	tree, err := llmd.Compile(fh, gw)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range tree.Files {
		files[f.Path] = f.Contents
	}
	b, err := decodeBootstrap(t, files[llmd.EnvoyConf])
	if err != nil {
		t.Fatalf("Envoy's types refuse the bootstrap: %v\n%s", err, files[llmd.EnvoyConf])
	}
	asks := map[uint32]string{}
	for _, l := range b.GetStaticResources().GetListeners() {
		var hcm hcmv3.HttpConnectionManager
		if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
			t.Fatal(err)
		}
		var ep extprocv3.ExternalProcessor
		if err := hcm.GetHttpFilters()[0].GetTypedConfig().UnmarshalTo(&ep); err != nil {
			t.Fatal(err)
		}
		asks[l.GetAddress().GetSocketAddress().GetPortValue()] = ep.GetGrpcService().GetEnvoyGrpc().GetClusterName()
	}
	if len(asks) != 2 || asks[19100] == asks[19101] || asks[19100] == "" {
		t.Errorf("listeners ask pickers %v, want one picker each", asks)
	}
	for _, name := range []string{"big", "small"} {
		epPath, err := checkPickerConfig(t, files[llmd.PickerConf(name)])
		if err != nil || epPath != llmd.EndpointsFile(name) {
			t.Fatalf("picker %s: %v, reads %s", name, err, epPath)
		}
		eps, err := checkEndpoints(t, files[epPath])
		if err != nil || len(eps.Endpoints) != 2 {
			t.Fatalf("picker %s endpoints: %v %+v", name, err, eps)
		}
		for _, e := range eps.Endpoints {
			if e.Labels["sovereign/engine"] != name {
				t.Errorf("picker %s lists engine %s", name, e.Labels["sovereign/engine"])
			}
		}
	}
	if len(tree.Units) != 3 {
		t.Errorf("%d units, want two pickers and Envoy", len(tree.Units))
	}
}

package wan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/moduletest"
	"github.com/sovereign-collective/sovereign/modules/wan"
)

const wanHCL = `wan {
  failover_time = "15s"
  uplink "5g" {
    type     = "gsm"
    apn      = "telstra.internet"
    priority = 2
  }
  uplink "nbn" {
    interface = "enp1s0"
    priority  = 1
  }
  check {
    targets = ["192.0.2.1", "198.51.100.1"]
  }
}
`

// load decodes the appliance and wanBlock as `sovereign build` does.
func load(t *testing.T, wanBlock string) *spec.WAN {
	t.Helper()
	return moduletest.Load(t, wanBlock).WAN
}

// resolve is wan.Resolve of the loaded block, failing the test on an error.
func resolve(t *testing.T, wanBlock string) *wan.Settings {
	t.Helper()
	s, diags := wan.Resolve(load(t, wanBlock))
	if diags.HasErrors() {
		t.Fatalf("Resolve: %s", diags.Error())
	}
	return s
}

func TestResolveFailover(t *testing.T) {
	// NetworkManager's check every 30 s with a 10 s timeout takes 41 s, so
	// 15 s needs the probe: 2 targets × 1 s per round, every 4 s.
	s := resolve(t, wanHCL)
	if s.Check.Interval != 30*time.Second || s.Check.Timeout != 10*time.Second || s.Check.URI != wan.DefaultCheckURI || s.Response != wan.DefaultCheckResponse {
		t.Errorf("check defaults: %+v, response %q", s.Check, s.Response)
	}
	if s.Mechanism() != wan.FailoverProbe || s.ProbeInterval() != 4*time.Second || s.Failover() != 15*time.Second {
		t.Errorf("mechanism %s, probe every %s, failover %s; want probe, 4s, 15s", s.Mechanism(), s.ProbeInterval(), s.Failover())
	}

	// A URI check every 10 s brings a 5 s timeout with it.
	sketch := strings.Replace(wanHCL, `targets = ["192.0.2.1", "198.51.100.1"]`, `uri = "http://connectivity.example.org/ok"
    interval = "10s"`, 1)
	s = resolve(t, strings.Replace(sketch, `"15s"`, `"20s"`, 1))
	if c := s.Check; c.Interval != 10*time.Second || c.Timeout != 5*time.Second || s.Mechanism() != wan.FailoverNetworkManager {
		t.Errorf("interval 10s: timeout %s, mechanism %s; want 5s and NetworkManager's check (16s within 20s)", c.Timeout, s.Mechanism())
	}

	s = resolve(t, strings.Replace(wanHCL, `failover_time = "15s"`, `failover_time = "45s"`, 1))
	if s.Mechanism() != wan.FailoverNetworkManager || s.Failover() != 41*time.Second {
		t.Errorf("failover_time 45s: mechanism %s within %s; want NetworkManager's check within 41s", s.Mechanism(), s.Failover())
	}

	// An empty response is a setting of its own, not "unset".
	s = resolve(t, strings.Replace(wanHCL, `targets = [`, `response = ""
    targets = [`, 1))
	if s.Response != "" {
		t.Errorf(`response = "": resolved to %q, want ""`, s.Response)
	}
}

// TestDefaultsAppliedOnce fails if the decoder applies a default as well
// as the module (the module would then take it for the blueprint's own
// setting) or if nobody applies it.
func TestDefaultsAppliedOnce(t *testing.T) {
	bare := "wan {\n  uplink \"nbn\" {\n    interface = \"enp1s0\"\n    priority  = 1\n  }\n}\n"
	w := load(t, bare)
	if w.FailoverTime != 0 || w.Check.Interval != 0 || w.Check.Timeout != 0 || w.Check.URI != "" || w.Check.Response != nil {
		t.Errorf("the decoder filled in settings the blueprint left unset: failover_time %s, check %+v", w.FailoverTime, w.Check)
	}
	s, diags := wan.Resolve(w)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	tree, err := wan.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	var conf string
	for _, f := range tree.Files {
		if f.Path == wan.ConnectivityConf {
			conf = string(f.Contents)
		}
	}
	for _, want := range []string{"(failover_time 1m0s)", "uri=" + wan.DefaultCheckURI + "\n", "response=OK\n", "interval=30\n", "timeout=10\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("a wan block without failover_time or check renders without %q:\n%s", want, conf)
		}
	}

	// The timeout that a 10 s interval brings is 5 s. Had the decoder set
	// the 10 s default, the module would see a timeout of the blueprint's
	// own, not below the interval, and refuse it.
	w = load(t, strings.Replace(bare, "wan {\n", "wan {\n  check {\n    interval = \"10s\"\n  }\n", 1))
	if w.Check.Timeout != 0 {
		t.Errorf("the decoder set timeout %s the blueprint did not", w.Check.Timeout)
	}
	s, diags = wan.Resolve(w)
	if diags.HasErrors() || s.Check.Timeout != 5*time.Second {
		t.Errorf("interval 10s without timeout: timeout %s, diagnostics %v; want 5s and none", s.Check.Timeout, diags)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "too fast for NetworkManager and nothing to probe",
			src:  strings.Replace(wanHCL, `targets = ["192.0.2.1", "198.51.100.1"]`, "", 1),
			want: []string{"bp.hcl:11,19: No probe targets"},
		},
		{
			name: "too fast even for the probe",
			src:  strings.Replace(wanHCL, `failover_time = "15s"`, `failover_time = "5s"`, 1),
			want: []string{"bp.hcl:11,19: Failover time too short"},
		},
		{
			name: "a check that waits longer than its interval",
			src:  strings.Replace(wanHCL, `targets = ["192.0.2.1", "198.51.100.1"]`, "targets = [\"192.0.2.1\"]\n    interval = \"10s\"\n    timeout = \"10s\"", 1),
			want: []string{"bp.hcl:24,15: Timeout not below interval"},
		},
		{
			name: "a timeout not below the default interval",
			src:  strings.Replace(wanHCL, `targets = ["192.0.2.1", "198.51.100.1"]`, "targets = [\"192.0.2.1\"]\n    timeout = \"30s\"", 1),
			want: []string{"bp.hcl:23,15: Timeout not below interval"},
		},
		{
			name: "no failover_time: the wan block is the place",
			src:  strings.Replace(strings.Replace(wanHCL, `failover_time = "15s"`, "", 1), `targets = ["192.0.2.1", "198.51.100.1"]`, "interval = \"60s\"\n    timeout = \"20s\"", 1),
			want: []string{"bp.hcl:10,1: No probe targets"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := wan.Resolve(load(t, tc.src))
			if diff := cmp.Diff(tc.want, moduletest.ErrorList(diags)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoBlockNothingResolved(t *testing.T) {
	if s, diags := wan.Resolve(nil); s != nil || diags != nil {
		t.Errorf("Resolve(nil) = %+v, %v; want nil", s, diags)
	}
}

package decode_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

const testWAN = `
wan {
  failover_time = "15s"
  uplink "5g" {
    type     = "gsm"
    apn      = "telstra.internet"
    priority = 2
  }
  uplink "nbn" {
    interface = "enp1s0"
    priority  = 1
    address   = "203.0.113.2/30"
    gateway   = "203.0.113.1"
    dns       = ["192.0.2.53"]
  }
  check {
    targets = ["192.0.2.1", "198.51.100.1"]
  }
}
`

const testUPS = `
ups "main" {
  watts   = 2700
  runtime = "9m"
  on_battery {
    drain_after    = "60s"
    shutdown_after = "300s"
  }
}
`

func base() string { return testAppliance + testModel + testEngine }

func TestResilienceBlocksAreOptional(t *testing.T) {
	bp := mustLoad(t, map[string]string{"bp.hcl": base()}, "bp.hcl", lang.Inputs{})
	if bp.WAN != nil || bp.UPS != nil {
		t.Errorf("a blueprint without wan and ups blocks has WAN %v, UPS %v; want nil", bp.WAN, bp.UPS)
	}
}

func TestWANDecode(t *testing.T) {
	bp := mustLoad(t, map[string]string{"bp.hcl": base() + testWAN}, "bp.hcl", lang.Inputs{})
	w := bp.WAN
	var got []string
	for _, u := range w.Uplinks {
		got = append(got, u.Name)
	}
	if diff := cmp.Diff([]string{"nbn", "5g"}, got); diff != "" {
		t.Errorf("uplinks not in priority order (-want +got):\n%s", diff)
	}
	nbn, fiveG := w.Uplinks[0], w.Uplinks[1]
	if nbn.Type != "ethernet" || nbn.Address != netip.MustParsePrefix("203.0.113.2/30") || nbn.Gateway != netip.MustParseAddr("203.0.113.1") || nbn.Metric() != 100 {
		t.Errorf("nbn uplink decoded as %+v", nbn)
	}
	if fiveG.Type != "gsm" || fiveG.APN != "telstra.internet" || fiveG.Address.IsValid() || fiveG.Metric() != 200 || fiveG.DemotedMetric() != 20200 {
		t.Errorf("5g uplink decoded as %+v", fiveG)
	}
	// The decoder records what the blueprint said; the wan module applies
	// the defaults (its tests prove them).
	if w.FailoverTime != 15*time.Second || w.Check.Interval != 0 || w.Check.Timeout != 0 || w.Check.URI != "" || w.Check.Response != nil || len(w.Check.Targets) != 2 {
		t.Errorf("failover_time %s, check %+v; want 15s and only the targets", w.FailoverTime, w.Check)
	}
}

func TestUPSDecode(t *testing.T) {
	bp := mustLoad(t, map[string]string{"bp.hcl": base() + testUPS}, "bp.hcl", lang.Inputs{})
	u := bp.UPS
	if u.Name != "main" || u.Driver != "" || u.Port != "" || u.Password != nil || u.Runtime != 9*time.Minute || u.Watts != 2700 {
		t.Errorf("ups decoded as %+v", u)
	}
	// The decoder records what the blueprint said; the ups module applies
	// the defaults and checks the budget (its tests prove them).
	ob := u.OnBattery
	if ob.DrainAfter != time.Minute || ob.StopEnginesWithin != 0 || ob.ShutdownAfter != 5*time.Minute || ob.OSShutdown != 0 {
		t.Errorf("on_battery decoded as %+v; want drain_after 1m, shutdown_after 5m and nothing else", ob)
	}

	in := lang.Inputs{Env: []string{"UPS_PASSWORD=correct-horse-battery"}}
	bp = mustLoad(t, map[string]string{"bp.hcl": base() + strings.Replace(testUPS, `runtime = "9m"`, "runtime = \"9m\"\n  password = secret_env(\"UPS_PASSWORD\")", 1)}, "bp.hcl", in)
	if bp.UPS.Password == nil || bp.UPS.Password.Value != "correct-horse-battery" {
		t.Errorf("password from secret_env not decoded: %v", bp.UPS.Password)
	}
}

func TestResilienceErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  []string
		want []string
	}{
		{
			name: "a UPS smaller than the machine",
			src:  strings.Replace(testUPS, "watts   = 2700", "watts   = 1500", 1),
			want: []string{"bp.hcl:22,13: UPS too small"},
		},
		{
			name: "a literal password",
			src:  strings.Replace(testUPS, `runtime = "9m"`, "runtime = \"9m\"\n  password = \"hunter2hunter2\"", 1),
			want: []string{"bp.hcl:24,14: Secret given as a literal"},
		},
		{
			name: "a password NUT cannot quote",
			src:  strings.Replace(testUPS, `runtime = "9m"`, "runtime = \"9m\"\n  password = secret_env(\"P\")", 1),
			env:  []string{"P=has spaces & quotes\""},
			want: []string{"bp.hcl:24,14: Unusable UPS password"},
		},
		{
			name: "whole seconds for timers",
			src:  strings.Replace(testUPS, `drain_after    = "60s"`, `drain_after    = "1.5s"`, 1),
			want: []string{"bp.hcl:25,22: Invalid duration"},
		},
		{
			name: "two UPSes",
			src:  testUPS + strings.Replace(testUPS, `ups "main"`, `ups "second"`, 1),
			want: []string{"bp.hcl:30,1: More than one ups"},
		},
		{
			name: "two uplinks with one priority",
			src:  strings.Replace(testWAN, "priority = 2", "priority = 1", 1),
			want: []string{"bp.hcl:28,3: Two uplinks with one priority"},
		},
		{
			name: "ethernet without an interface",
			src:  strings.Replace(testWAN, `interface = "enp1s0"`, "", 1),
			want: []string{"bp.hcl:28,3: Missing required argument"},
		},
		{
			name: "gsm with an interface",
			src:  strings.Replace(testWAN, `type     = "gsm"`, "type     = \"gsm\"\n    interface = \"wwan0\"", 1),
			want: []string{"bp.hcl:25,17: Interface on a gsm uplink"},
		},
		{
			name: "a gateway off the subnet",
			src:  strings.Replace(testWAN, `gateway   = "203.0.113.1"`, `gateway   = "203.0.113.9"`, 1),
			want: []string{"bp.hcl:32,17: Gateway off the subnet"},
		},
		{
			name: "a static address without gateway",
			src:  strings.Replace(testWAN, `gateway   = "203.0.113.1"`, "", 1),
			want: []string{"bp.hcl:28,3: Missing required argument"},
		},
		{
			name: "a wan without uplinks",
			src:  "\nwan {\n}\n",
			want: []string{"bp.hcl:21,1: No uplink"},
		},
		{
			name: "two wan blocks",
			src:  testWAN + testWAN,
			want: []string{"bp.hcl:40,1: Duplicate wan block"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := loadErrors(t, map[string]string{"bp.hcl": base() + tc.src}, "bp.hcl", lang.Inputs{Env: tc.env})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

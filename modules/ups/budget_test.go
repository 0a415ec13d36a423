package ups_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/internal/moduletest"
	"github.com/sovereign-collective/sovereign/modules/ups"
)

const upsHCL = `ups "main" {
  watts   = 2700
  runtime = "9m"
  on_battery {
    drain_after    = "60s"
    shutdown_after = "300s"
  }
}
`

// load decodes the appliance and upsBlock as `sovereign build` does.
func load(t *testing.T, upsBlock string) *spec.UPS {
	t.Helper()
	return moduletest.Load(t, upsBlock).UPS
}

func TestResolveBudget(t *testing.T) {
	s, diags := ups.Resolve(load(t, upsHCL))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ob := s.OnBattery
	if s.Driver != ups.DefaultDriver || s.Port != ups.DefaultDevicePort || ob.DrainAfter != time.Minute || ob.StopEnginesWithin != ups.DefaultStopEnginesWithin ||
		ob.ShutdownAfter != 5*time.Minute || ob.OSShutdown != ups.DefaultOSShutdown {
		t.Errorf("resolved as driver %q, port %q, on_battery %+v", s.Driver, s.Port, ob)
	}
	// 4 s to notice; engines down by 4+60+120+90 s; power-off from 4+300+5 s,
	// over 60 s.
	want := ups.Budget{Detection: 4 * time.Second, EnginesDown: 274 * time.Second, PowerOffFrom: 309 * time.Second, PowerOff: 369 * time.Second}
	if diff := cmp.Diff(want, s.Budget()); diff != "" {
		t.Errorf("budget (-want +got):\n%s", diff)
	}
}

// TestDefaultsAppliedOnce fails if the decoder applies a default as well
// as the module (the module would then take it for the blueprint's own
// setting) or if nobody applies it.
func TestDefaultsAppliedOnce(t *testing.T) {
	bare := "ups \"main\" {\n  runtime = \"9m\"\n}\n"
	u := load(t, bare)
	if u.Driver != "" || u.Port != "" || u.OnBattery.DrainAfter != 0 || u.OnBattery.StopEnginesWithin != 0 || u.OnBattery.ShutdownAfter != 0 || u.OnBattery.OSShutdown != 0 {
		t.Errorf("the decoder filled in settings the blueprint left unset: driver %q, port %q, on_battery %+v", u.Driver, u.Port, u.OnBattery)
	}
	s, diags := ups.Resolve(u)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	tree, err := ups.Compile(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]string{}
	for _, f := range tree.Files {
		rendered[f.Path] = string(f.Contents)
	}
	for path, wants := range map[string][]string{
		ups.ConfDir + "/ups.conf":      {"\tdriver = usbhid-ups\n\tport = auto\n"},
		ups.ConfDir + "/upssched.conf": {"START-TIMER drain 60\n", "START-TIMER poweroff 300\n", "host off by 6m9s of 9m0s battery runtime"},
		ups.EventScript:                {"STOP_WITHIN=120\n"},
	} {
		for _, want := range wants {
			if !strings.Contains(rendered[path], want) {
				t.Errorf("a ups block without driver, port or on_battery renders %s without %q:\n%s", path, want, rendered[path])
			}
		}
	}

	// Resolving settled values again changes nothing: a default fills
	// only what is unset.
	again, _ := ups.Resolve(&s.UPS)
	if diff := cmp.Diff(s, again); diff != "" {
		t.Errorf("resolving twice differs (-once +twice):\n%s", diff)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a battery that runs out before the shutdown ends",
			src:  strings.Replace(upsHCL, `runtime = "9m"`, `runtime = "5m"`, 1),
			want: []string{"bp.hcl:15,22: The battery runs out before the shutdown ends"},
		},
		{
			name: "shutdown before drain",
			src:  strings.Replace(upsHCL, `drain_after    = "60s"`, `drain_after    = "600s"`, 1),
			want: []string{"bp.hcl:15,22: Shutdown before drain"},
		},
		{
			name: "shutdown_after unset: its default follows drain_after",
			src:  strings.Replace(upsHCL, `shutdown_after = "300s"`, "", 1),
			want: nil,
		},
		{
			name: "drain after the default shutdown: the on_battery block is the place",
			src:  strings.Replace(strings.Replace(upsHCL, `shutdown_after = "300s"`, "", 1), `drain_after    = "60s"`, `drain_after    = "400s"`, 1),
			want: []string{"bp.hcl:13,3: Shutdown before drain"},
		},
		{
			name: "no on_battery block: the ups block is the place",
			src:  "ups \"main\" {\n  runtime = \"4m\"\n}\n",
			want: []string{"bp.hcl:10,1: The battery runs out before the shutdown ends"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := ups.Resolve(load(t, tc.src))
			if diff := cmp.Diff(tc.want, moduletest.ErrorList(diags)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoBlockNothingResolved(t *testing.T) {
	if s, diags := ups.Resolve(nil); s != nil || diags != nil {
		t.Errorf("Resolve(nil) = %+v, %v; want nil", s, diags)
	}
}

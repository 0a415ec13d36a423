package wan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units"
)

// testWAN is a wan block with every setting given, as Resolve settles it.
func testWAN(failover time.Duration) *Settings {
	ok := "ok"
	return withDefaults(&spec.WAN{
		FailoverTime: failover,
		Uplinks: []*spec.Uplink{
			{Name: "nbn", Type: "ethernet", Interface: "enp1s0", Priority: 1},
			{Name: "5g", Type: "gsm", Priority: 2},
		},
		Check: spec.Check{URI: "http://example.org/ok", Response: &ok, Interval: 30 * time.Second, Timeout: 10 * time.Second,
			Targets: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
	})
}

func paths(t *units.Tree) map[string]*units.File {
	m := map[string]*units.File{}
	for _, f := range t.Files {
		m[f.Path] = f
	}
	return m
}

// compile is Compile, failing the test on an error.
func compile(t *testing.T, w *Settings) *units.Tree {
	t.Helper()
	tree, err := Compile(w)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestNoBlockNoFiles(t *testing.T) {
	if tree, err := Compile(nil); tree != nil || err != nil {
		t.Errorf("Compile(nil) = %+v, want nil", tree)
	}
}

func TestKeyfiles(t *testing.T) {
	tree := compile(t, testWAN(15*time.Second))
	files := paths(tree)
	for _, name := range []string{"nbn", "5g"} {
		f := files[ConnectionsDir+"/sovereign-wan-"+name+".nmconnection"]
		if f == nil {
			t.Fatalf("no keyfile for %s", name)
		}
		// NetworkManager ignores a keyfile anyone but root can read.
		if f.Mode != 0o600 {
			t.Errorf("%s keyfile mode %04o, want 0600", name, f.Mode)
		}
	}
	nbn := string(files[ConnectionsDir+"/sovereign-wan-nbn.nmconnection"].Contents)
	for _, want := range []string{"type=ethernet\n", "interface-name=enp1s0\n", "method=auto\n", "route-metric=100\n"} {
		if !strings.Contains(nbn, want) {
			t.Errorf("nbn keyfile lacks %q:\n%s", want, nbn)
		}
	}
	gsm := string(files[ConnectionsDir+"/sovereign-wan-5g.nmconnection"].Contents)
	for _, want := range []string{"type=gsm\n", "[gsm]\nauto-config=true\n", "route-metric=200\n"} {
		if !strings.Contains(gsm, want) {
			t.Errorf("5g keyfile lacks %q:\n%s", want, gsm)
		}
	}
	if strings.Contains(gsm, "interface-name") {
		t.Errorf("a gsm keyfile must not pin an interface:\n%s", gsm)
	}
	if len(tree.Presets) != 1 || tree.Presets[0].Path != PresetFile || !slices.Equal(tree.Presets[0].Enable, []string{"ModemManager.service"}) {
		t.Errorf("a gsm uplink must enable ModemManager")
	}
	if uuid("a") != uuid("a") || uuid("a") == uuid("b") || len(uuid("a")) != 36 {
		t.Errorf("uuid is not a stable name-based UUID: %s %s", uuid("a"), uuid("b"))
	}
}

func TestMechanism(t *testing.T) {
	// 15 s: NetworkManager's check takes 41 s, so the probe runs.
	tree := compile(t, testWAN(15*time.Second))
	files := paths(tree)
	script := files[ProbeScript]
	if script == nil || len(tree.Units) != 1 || tree.Units[0].Name != ProbeService || !tree.Units[0].Enabled {
		t.Fatalf("failover_time 15s: want the probe script and an enabled %s", ProbeService)
	}
	for _, want := range []string{"INTERVAL=4\n", "TIMEOUT=1\n", "FAILURES=3\n", "TARGETS=192.0.2.1\n", "sovereign-wan-nbn,enp1s0,100,20100\n", "sovereign-wan-5g,-,200,20200\n"} {
		if !strings.Contains(string(script.Contents), want) {
			t.Errorf("probe script lacks %q", want)
		}
	}
	conf := string(files[ConnectivityConf].Contents)
	for _, want := range []string{"[connectivity]\n", "uri=http://example.org/ok\n", "response=ok\n", "interval=30\n", "timeout=10\n", "active probe"} {
		if !strings.Contains(conf, want) {
			t.Errorf("connectivity config lacks %q:\n%s", want, conf)
		}
	}

	// 60 s: NetworkManager alone, no probe.
	tree = compile(t, testWAN(60*time.Second))
	if files := paths(tree); files[ProbeScript] != nil || len(tree.Units) != 0 {
		t.Errorf("failover_time 60s: NetworkManager's check suffices, yet the probe is rendered")
	}
	if conf := string(paths(tree)[ConnectivityConf].Contents); !strings.Contains(conf, "# Failover: NetworkManager's check") {
		t.Errorf("the connectivity config does not say NetworkManager fails over:\n%s", conf)
	}
}

package ups

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units"
)

func testUPS() *Settings {
	return &Settings{UPS: spec.UPS{Name: "main", Driver: "usbhid-ups", Port: "auto", VendorID: "0463", Runtime: 9 * time.Minute,
		OnBattery: spec.OnBattery{DrainAfter: time.Minute, StopEnginesWithin: 2 * time.Minute, ShutdownAfter: 5 * time.Minute, OSShutdown: time.Minute}}}
}

var engines = []*spec.Engine{{Kind: "vllm", Name: "main", Port: 8000}, {Kind: "sglang", Name: "small", Port: 8001}}

// compile is Compile over the test engines, failing the test on an error.
func compile(t *testing.T, u *Settings) *units.Tree {
	t.Helper()
	tree, err := Compile(u, engines)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func files(t *units.Tree) map[string]*units.File {
	m := map[string]*units.File{}
	for _, f := range t.Files {
		m[f.Path] = f
	}
	return m
}

func TestNoBlockNoFiles(t *testing.T) {
	if tree, err := Compile(nil, engines); tree != nil || err != nil {
		t.Errorf("Compile(nil) = %+v, want nil", tree)
	}
}

func TestConfig(t *testing.T) {
	tree := compile(t, testUPS())
	fs := files(tree)
	checks := map[string][]string{
		ConfDir + "/nut.conf":          {"MODE=standalone\n"},
		ConfDir + "/ups.conf":          {"[main]\n\tdriver = usbhid-ups\n\tport = auto\n\tvendorid = 0463\n"},
		ConfDir + "/upsd.conf":         {"LISTEN 127.0.0.1 3493\n"},
		TemplateDir + "/upsd.users.in": {"[upsmon]\n\tpassword = @PASSWORD@\n\tupsmon primary\n"},
		TemplateDir + "/upsmon.conf.in": {"MONITOR main@127.0.0.1:3493 1 upsmon @PASSWORD@ primary\n", "NOTIFYCMD /usr/sbin/upssched\n",
			"NOTIFYFLAG ONBATT SYSLOG+WALL+EXEC\n", "NOTIFYFLAG ONLINE SYSLOG+WALL+EXEC\n", "FINALDELAY 5\n"},
		ConfDir + "/upssched.conf": {"CMDSCRIPT " + EventScript + "\n", "AT ONBATT * START-TIMER drain 60\n", "AT ONBATT * START-TIMER poweroff 300\n",
			"AT ONLINE * CANCEL-TIMER drain\n", "AT ONLINE * CANCEL-TIMER poweroff\n", "AT ONLINE * EXECUTE online\n"},
		EventScript:  {"STOP_WITHIN=120\n", "ENGINES='vllm-main.service:127.0.0.1:8000 sglang-small.service:127.0.0.1:8001'\n", "{SOVEREIGN_DRAIN_FLAG:-" + units.DrainFlag + "}"},
		ConfigScript: {"chgrp nut", "chmod 0640"},
	}
	for path, wants := range checks {
		f := fs[path]
		if f == nil {
			t.Errorf("%s not rendered", path)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(string(f.Contents), want) {
				t.Errorf("%s lacks %q:\n%s", path, want, f.Contents)
			}
		}
	}
	// CMDSCRIPT must come before the AT lines (upssched.conf(5)).
	sched := string(fs[ConfDir+"/upssched.conf"].Contents)
	if strings.Index(sched, "CMDSCRIPT") > strings.Index(sched, "AT ") {
		t.Errorf("CMDSCRIPT after the AT lines:\n%s", sched)
	}
	for _, p := range []string{EventScript, ConfigScript} {
		if fs[p].Mode != 0o755 {
			t.Errorf("%s mode %04o, want 0755", p, fs[p].Mode)
		}
	}
	// Without a password in the blueprint, none is rendered: the host
	// generates it.
	if fs[PasswordFile] != nil {
		t.Error("a password file is rendered although the blueprint has none")
	}
	if len(tree.Units) != 1 || tree.Units[0].Name != ConfigUnit || !tree.Units[0].Enabled {
		t.Errorf("want one enabled %s, got %v", ConfigUnit, tree.Units)
	}
}

func TestPasswordFromBlueprint(t *testing.T) {
	u := testUPS()
	u.Password = &spec.Secret{Value: "correct-horse-battery"}
	fs := files(compile(t, u))
	f := fs[PasswordFile]
	if f == nil || !f.Secret || f.Mode != 0o600 || string(f.Contents) != "correct-horse-battery" {
		t.Fatalf("password file: %+v", f)
	}
	for p, f := range fs {
		if p != PasswordFile && strings.Contains(string(f.Contents), "correct-horse-battery") {
			t.Errorf("the password leaks into %s", p)
		}
	}
}

// TestDetectionDelay keeps DetectionDelay, which the budget counts for
// upsmon to notice a power failure, equal to the polls rendered: the
// driver's pollinterval plus upsmon's POLLFREQ.
func TestDetectionDelay(t *testing.T) {
	fs := files(compile(t, testUPS()))
	poll := regexp.MustCompile(`(?m)^\tpollinterval = (\d+)$`).FindSubmatch(fs[ConfDir+"/ups.conf"].Contents)
	freq := regexp.MustCompile(`(?m)^POLLFREQ (\d+)$`).FindSubmatch(fs[TemplateDir+"/upsmon.conf.in"].Contents)
	if poll == nil || freq == nil {
		t.Fatal("no pollinterval in ups.conf or POLLFREQ in upsmon.conf")
	}
	p, _ := strconv.Atoi(string(poll[1]))
	f, _ := strconv.Atoi(string(freq[1]))
	if got := time.Duration(p+f) * time.Second; got != DetectionDelay {
		t.Errorf("pollinterval %ds + POLLFREQ %ds = %s, but the budget counts DetectionDelay = %s", p, f, got, DetectionDelay)
	}
}

package hostos

import (
	_ "embed"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

//go:embed rebase.sh
var rebaseScript []byte

// The first-boot rebase onto the built OS image. The script lives in
// /usr/local (/var/usrlocal on Fedora CoreOS), which the rebase keeps.
const (
	RebaseScript  = "/usr/local/libexec/sovereign/os-rebase"
	RebaseService = "sovereign-os-rebase.service"
)

// Rebase is what an Ignition-provisioned host needs to reach its OS image
// by itself: a first-boot unit that rebases the host from the OS it was
// installed with onto pinned (REPOSITORY@sha256:…) and reboots once. Every
// container of tree, and every unit a container requires (weights, the CDI
// spec), is ordered after it, so that none starts on the stock OS while the
// rebase is pending; once booted from the image the unit finds so and lets
// them start. (Not every unit: the network's own must come up first, for
// the rebase to pull.) A failed rebase (no network yet) lets
// them start too, where the GPU check says what is missing, and is tried
// again.
func Rebase(pinned string, tree *units.Tree, at hcl.Range) *units.Tree {
	u := &units.Unit{Name: RebaseService, Enabled: true, Origin: at}
	u.Comment = []string{"Written by sovereign build: moves this host onto its OS image once, then does nothing."}
	u.Set("Unit", "Description", "Rebase the host onto its OS image "+pinned)
	u.Set("Unit", "Wants", "network-online.target")
	u.Set("Unit", "After", "network-online.target")
	u.Set("Unit", "Before", "zincati.service")
	var names []string
	for _, other := range tree.Units {
		if other.IsQuadlet() {
			names = append(names, other.ServiceName())
			names = append(names, other.Requires...)
		}
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		u.Set("Unit", "Before", name)
	}
	u.Set("Service", "Type", "oneshot")
	u.Set("Service", "RemainAfterExit", "yes")
	u.Set("Service", "ExecStart", units.QuoteCommand([]string{RebaseScript, pinned}))
	// Pulling a multi-gigabyte OS image over a slow link takes long, and a
	// flaky one fails: try again.
	u.SetStartTimeout(2 * time.Hour)
	u.Set("Service", "Restart", "on-failure")
	u.Set("Service", "RestartSec", "60")
	u.Set("Install", "WantedBy", "multi-user.target")
	return &units.Tree{
		Files: []*units.File{{Path: RebaseScript, Mode: 0o755, Contents: rebaseScript, Origin: at}},
		Units: []*units.Unit{u},
	}
}

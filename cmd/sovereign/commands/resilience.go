package commands

import (
	"fmt"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/wan"
)

// printResilience follows the capacity table with the budgets of the wan and
// ups blocks: how fast a dead uplink fails over, and when the host is off on
// battery against the UPS's runtime. The blueprint loaded only if both fit.
func (e *env) printResilience(bp *spec.Blueprint) {
	if bp == nil || (bp.WAN == nil && bp.UPS == nil) {
		return
	}
	fmt.Fprintln(e.stdout)
	if w := bp.WAN; w != nil {
		fmt.Fprintf(e.stdout, "WAN failover: %s.\n", wan.Describe(w))
	}
	if u := bp.UPS; u != nil {
		fmt.Fprintf(e.stdout, "UPS %q on battery: %s.\n", u.Name, ups.Describe(u))
	}
}

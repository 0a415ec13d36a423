package commands

import (
	"fmt"

	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/ups"
	"github.com/sovereign-collective/sovereign/modules/wan"
)

// printResilience follows the capacity table with the budgets of the wan and
// ups blocks: how fast a dead uplink fails over, and when the host is off on
// battery against the UPS's runtime. It prints the figures even when they
// miss failover_time or the runtime (planned.Refused then says so), like
// the capacity table's.
func (e *env) printResilience(planned *pipeline.Planned) {
	if planned == nil || (planned.WAN == nil && planned.UPS == nil) {
		return
	}
	fmt.Fprintln(e.stdout)
	if w := planned.WAN; w != nil {
		fmt.Fprintf(e.stdout, "WAN failover: %s.\n", wan.Describe(w))
	}
	if u := planned.UPS; u != nil {
		fmt.Fprintf(e.stdout, "UPS %q on battery: %s.\n", u.Name, ups.Describe(u))
	}
}

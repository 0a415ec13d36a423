package diff

import (
	"fmt"
	"strings"

	"github.com/sovereign-collective/sovereign/units/output"
)

// applianceImage is the image-mode image old → new, nil when neither side
// has one or it did not change.
func applianceImage(o, n *tree) *Change {
	if o.image == nil && n.image == nil {
		return nil
	}
	c := &Change{}
	if o.image != nil {
		c.Old = o.image.Reference + "@" + o.image.Digest
	}
	if n.image != nil {
		c.New = n.image.Reference + "@" + n.image.Digest
	}
	if c.Old == c.New {
		return nil
	}
	return c
}

// users compares the admins and their SSH keys.
func users(o, n *tree) []UserChange {
	out := []UserChange{}
	for _, name := range union(keys(o.users), keys(n.users)) {
		ok, inOld := o.users[name]
		nk, inNew := n.users[name]
		switch {
		case !inOld:
			out = append(out, UserChange{Name: name, Change: "added", Keys: len(nk)})
		case !inNew:
			out = append(out, UserChange{Name: name, Change: "removed"})
		case strings.Join(ok, "\n") != strings.Join(nk, "\n"):
			out = append(out, UserChange{Name: name, Change: "keys changed", Keys: len(nk)})
		}
	}
	return out
}

// plan compares the capacity plans figure by figure.
func plan(o, n *tree) []PlanChange {
	out := []PlanChange{}
	for _, p := range union(keys(o.plan), keys(n.plan)) {
		if strings.HasSuffix(p, ".why") && (strings.HasPrefix(p, "assumptions.") || strings.Contains(p, ".assumptions.")) {
			continue // prose; its value beside it is compared
		}
		ov, nv := o.plan[p], n.plan[p]
		if ov != nv {
			out = append(out, PlanChange{Path: p, Change: Change{Old: ov, New: nv}})
		}
	}
	return out
}

// notes say what the changes mean for applying the update.
func notes(r *Report, o, n *tree) []string {
	var out []string
	if len(r.Users) > 0 {
		out = append(out, "Admins changed: Ignition creates users only at first boot, so a running host keeps its old admins "+
			"(in both modes) until it is reprovisioned or they are changed by hand.")
	}
	secrets := 0
	for _, f := range r.Files {
		if f.Secret {
			secrets++
		}
	}
	if secrets > 0 && (o.image != nil || n.image != nil) {
		out = append(out, fmt.Sprintf("%d secret file(s) changed: the appliance image never carries secrets; copy them from NEW/rootfs/ to the host (mode 0600) before switching.", secrets))
	}
	for _, side := range []struct {
		name string
		t    *tree
	}{{"OLD", o}, {"NEW", n}} {
		if side.t.unrecorded {
			out = append(out, side.name+" was built by an earlier sovereign, whose manifest does not describe its units: "+
				"its services and container images are not compared. Build it again with this sovereign to compare them.")
		}
	}
	if r.ApplianceImage != nil && r.ApplianceImage.New != "" {
		out = append(out, "Apply by switching to the new image and rebooting: sudo /usr/libexec/sovereign/update "+output.Pinned(n.image.Reference, n.image.Digest))
	}
	return append([]string{}, out...)
}

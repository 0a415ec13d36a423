package units

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// HostContainer says what a sovereign service's Quadlet container is: the
// unit and image it runs, and what its comment and description tell a
// reader.
type HostContainer struct {
	// Unit is the .container file's name; the container is named after it.
	Unit string
	// NamePrefix goes before the container's name ("sovereign-"), so it
	// cannot clash with the image's own.
	NamePrefix  string
	Description string
	// GeneratedFrom is the comment's first line: which block asked for it.
	GeneratedFrom string
	Image         *Image
	// ReadOnly runs the container on a read-only root filesystem.
	ReadOnly bool
	Origin   hcl.Range
}

// NewHostContainer is c's unit: the image pulled only when missing, on the
// host network, with no new privileges and every capability dropped. The
// caller adds its volumes, Exec and [Service] settings.
func NewHostContainer(c HostContainer) *Unit {
	u := &Unit{
		Name:    c.Unit,
		Comment: []string{c.GeneratedFrom, "Image: " + c.Image.Ref},
		Image:   c.Image,
		Origin:  c.Origin,
	}
	u.Set("Unit", "Description", c.Description)
	u.Set("Container", "ContainerName", c.NamePrefix+strings.TrimSuffix(c.Unit, ".container"))
	u.Set("Container", "Pull", "missing")
	u.Set("Container", "Network", "host")
	if c.ReadOnly {
		u.Set("Container", "ReadOnly", "true")
	}
	u.Set("Container", "NoNewPrivileges", "true")
	u.Set("Container", "DropCapability", "all")
	return u
}

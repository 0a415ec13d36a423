package images

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

// PinBase pins the base of the host OS image (the os block's base) by the
// same rules as a unit's image, except that it must be pinned: the OS
// image is built FROM base@sha256:…, and an explicit unpinned opt-out that
// a container may take would leave every later OS build free to differ.
// It returns REPOSITORY@sha256:….
func PinBase(base *units.Image, lock *Lock, platform string) (string, hcl.Diagnostics) {
	if lock == nil {
		lock = NewLock("")
	}
	pinned, d := pin(base, lock, platform)
	if d != nil {
		d.Subject = base.Origin.Ptr()
		if d.Severity == hcl.DiagWarning {
			d.Severity = hcl.DiagError
			d.Summary = "OS base not pinned"
			ref, _ := ParseRef(base.Ref)
			d.Detail = fmt.Sprintf("The host OS image is built FROM its base by digest, but %s opts %s out of pinning. Remove the unpinned entry and run %s where the registry is reachable, or write the base as %s@sha256:<digest>.", lock.Path, base.Ref, lock.fix(ref), base.Ref)
		}
		return "", hcl.Diagnostics{d}
	}
	return pinned, nil
}

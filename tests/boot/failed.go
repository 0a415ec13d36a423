package boot

import "regexp"

// StartupCheckUnit is how Podman names the transient units of a container's
// start-up health check: CONTAINER-ID-startup-RANDOM (libpod's hcUnitName;
// the steady-state check's are CONTAINER-ID-RANDOM). While an engine loads,
// each failing start-up check leaves one failed. Monitoring of failed units
// must leave these out (README gives this pattern); any other failed unit is
// a real failure.
var StartupCheckUnit = regexp.MustCompile(`^[0-9a-f]{64}-startup-[0-9a-f]+\.(service|timer)$`)

package ignition

import (
	"encoding/base64"
	"fmt"
)

// UserDataLimit is the most a cloud takes as an instance's user-data.
type UserDataLimit struct {
	Cloud string
	// Bytes is the limit; Base64 says it counts the base64 encoding, not
	// the config itself.
	Bytes  int
	Base64 bool
	Source string
}

// UserDataLimits by the appliance block's cloud.
var UserDataLimits = map[string]UserDataLimit{
	// "User data is limited to 16 KB, in raw form, before it is
	// base64-encoded."
	"aws": {Cloud: "AWS EC2", Bytes: 16 * 1024, Source: "Amazon EC2 User Guide, Work with instance user data"},
	// "you must Base64-encode the contents before passing the data to the
	// API [...] The size can't exceed 64 KB." Read strictly: the encoded
	// data, which is a third larger than the config.
	"azure": {Cloud: "Azure", Bytes: 64 * 1024, Base64: true, Source: "Azure Virtual Machines docs, Custom data and cloud-init"},
	// A metadata value's "size must be less than or equal to 262144 bytes
	// (256 KiB)"; Fedora CoreOS reads its config from the user-data key.
	"gcp": {Cloud: "Google Compute Engine", Bytes: 256 * 1024, Source: "Compute Engine API, Metadata items"},
}

// Size is what config counts against the limit.
func (l UserDataLimit) Size(config []byte) int {
	if l.Base64 {
		return base64.StdEncoding.EncodedLen(len(config))
	}
	return len(config)
}

// Fits reports whether config fits, and says by how much it does not.
func (l UserDataLimit) Fits(config []byte) (bool, string) {
	n := l.Size(config)
	what := fmt.Sprintf("%d bytes", n)
	if l.Base64 {
		what = fmt.Sprintf("%d bytes once base64-encoded", n)
	}
	if n <= l.Bytes {
		return true, what
	}
	return false, fmt.Sprintf("%s, over %s's user-data limit of %d KiB (%s)", what, l.Cloud, l.Bytes/1024, l.Source)
}

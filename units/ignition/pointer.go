package ignition

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/coreos/ignition/v2/config/v3_5/types"
)

// PointerSchemes are the URL schemes a pointer config may fetch the full
// config from. Ignition fetches http too, but the full config inlines every
// secret of the appliance: it travels over TLS or from the cloud's own
// storage, never in clear.
var PointerSchemes = []string{"https", "s3", "gs"}

// Pointer is a small Ignition config for a cloud's user-data when the full
// config is too large for it: Ignition replaces it with the config at src,
// after checking that it is exactly full (its SHA-512), so that a config
// changed or swapped on the server is refused rather than applied.
func Pointer(src string, full []byte) ([]byte, error) {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not a URL with a host", src)
	}
	ok := false
	for _, s := range PointerSchemes {
		ok = ok || u.Scheme == s
	}
	if !ok {
		return nil, fmt.Errorf("%q: the full config carries the appliance's secrets, so it is fetched over https:// or from s3:// or gs://, not %s://", src, u.Scheme)
	}
	sum := sha512.Sum512(full)
	hash := "sha512-" + hex.EncodeToString(sum[:])
	cfg := types.Config{Ignition: types.Ignition{
		Version: IgnitionSpec,
		Config: types.IgnitionConfig{Replace: types.Resource{
			Source:       &src,
			Verification: types.Verification{Hash: &hash},
		}},
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

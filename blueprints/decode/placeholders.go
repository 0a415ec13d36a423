package decode

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Placeholders that sovereign init and the published examples put where
// only the collective's identity provider can give the real value. They
// build (so that a new collective can try the rest offline), but an
// appliance built with them lets nobody sign in.
const (
	initSecretPlaceholder    = "REPLACE-"
	exampleSecretPlaceholder = "EXAMPLE-"
)

// exampleLinkKeyPrefix begins the WireGuard private keys published with
// the reference fleet (blueprints/link/): valid base64 keys that say what
// they are.
const exampleLinkKeyPrefix = "EXAMPLE0"

func isExampleLinkKey(v string) bool { return strings.HasPrefix(v, exampleLinkKeyPrefix) }

// exampleDomains are the names RFC 2606 and RFC 6761 reserve for
// documentation: no identity provider answers there.
var exampleDomains = []string{"example.org", "example.com", "example.net", "example", "invalid", "test"}

// placeholderWarnings warns about an OIDC block still holding init's
// placeholders: the example issuer, the client secret placeholder.
func placeholderWarnings(oidc spec.OIDC, issuerRange hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if u, err := url.Parse(oidc.Issuer); err == nil && isExampleHost(u.Hostname()) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Example identity provider",
			Detail:   fmt.Sprintf("The issuer %s is a documentation name that no identity provider answers at: members could not sign in with a browser (API keys still work). Give your identity provider's issuer URL.", oidc.Issuer),
			Subject:  issuerRange.Ptr(),
		})
	}
	if s := oidc.ClientSecret; s != nil && (strings.HasPrefix(s.Value, initSecretPlaceholder) || strings.HasPrefix(s.Value, exampleSecretPlaceholder)) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Placeholder client secret",
			Detail:   "The OIDC client secret is still the placeholder sovereign init (or the published example) wrote: the identity provider would refuse every sign-in. Register the appliance with your identity provider and put the client secret it issues into this file.",
			Subject:  s.Range.Ptr(),
		})
	}
	return diags
}

func isExampleHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, d := range exampleDomains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

package pipeline

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units/ignition"
	"github.com/sovereign-collective/sovereign/units/output"
)

// WithIgnitionURL makes the build also write a pointer config
// (out/pointer.ign): user-data that makes Ignition fetch the full config
// from url and check it by its SHA-512. It is for clouds whose user-data
// limit the full config is over; the full config, which carries the
// appliance's secrets, must then be served at url.
func WithIgnitionURL(url string) Option {
	return func(o *options) { o.ignitionURL = url }
}

// CheckIgnitionURL says what is wrong with url as WithIgnitionURL's, before
// anything is built.
func CheckIgnitionURL(url string) error {
	_, err := ignition.Pointer(url, nil)
	return err
}

// userData writes the pointer config when asked, and warns when what is to
// be pasted as the cloud's user-data is over the cloud's limit.
func userData(res *Result, bp *spec.Blueprint, o options) hcl.Diagnostics {
	if o.ignitionURL != "" {
		p, err := ignition.Pointer(o.ignitionURL, res.Ignition)
		if err != nil {
			return internalDiag(err)
		}
		res.Pointer = p
	}
	limit, ok := ignition.UserDataLimits[bp.Appliance.Cloud]
	if !ok {
		return nil
	}
	pasted, name := res.Ignition, output.IgnitionFile
	if res.Pointer != nil {
		pasted, name = res.Pointer, output.PointerFile
	}
	fits, size := limit.Fits(pasted)
	if fits {
		return nil
	}
	detail := fmt.Sprintf("%s is %s: the instance would not get it. Build with --ignition-url URL: serve %s at URL (over https, or from s3:// or gs://, where only the instance can read it: it carries the appliance's secrets) and paste the small %s as user-data instead.",
		name, size, output.IgnitionFile, output.PointerFile)
	if res.Pointer != nil {
		detail = fmt.Sprintf("%s is %s: shorten the --ignition-url.", name, size)
	}
	return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Config over the cloud's user-data limit", Detail: detail, Subject: bp.Appliance.CloudRange.Ptr()}}
}

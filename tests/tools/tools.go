//go:build tools

// Package tools pins the validator binaries that sovereign's peer tests run
// (Butane, Podman's quadlet generator, ignition-validate, the real Ignition
// binary and oauth2-proxy for the gateway tests). It lives in its own module so that the validators' large dependency
// trees never enter the root module's go.mod, and so that CI builds exactly
// the versions recorded here (install.sh builds them with `go build` inside
// this module, because the module proxy refuses `go install pkg@version` for
// butane and podman).
package tools

import (
	_ "github.com/containers/podman/v5/cmd/quadlet"
	_ "github.com/coreos/butane/internal"
	_ "github.com/coreos/ignition/v2/internal"
	_ "github.com/coreos/ignition/v2/validate"
	_ "github.com/oauth2-proxy/oauth2-proxy/v7"
)

//go:build tools

// Package runtime pins what the boot test's guest runs that its Debian 12
// cannot give: Podman 5 with its Quadlet generator, and runc (Debian 12's
// crun 1.8 rejects the OCI spec Podman 5.7 writes). The versions are the
// ones required in go.mod; tests/boot builds them into its cache with
// `go build` inside this module. It is a module of its own so that Podman's
// dependency tree never enters sovereign's go.mod; runc's version is the one
// Podman itself requires.
package runtime

import (
	_ "github.com/containers/podman/v5/cmd/podman"
	_ "github.com/containers/podman/v5/cmd/quadlet"
	_ "github.com/opencontainers/runc"
)

#!/usr/bin/env bash
# Builds the validator binaries that sovereign's peer tests (tests/peers) run, at the exact
# versions pinned in this module's go.mod/go.sum, into tests/tools/bin/.
#
# Why `go build` inside this module and not `go install pkg@version`: the module proxy refuses
# the version list of butane and podman, and `go install pkg@v` needs that list ("loading
# deprecation ... 403"). Building from a module that requires them exactly works, and go.sum
# makes the result reproducible.
#
# Idempotent: a binary is rebuilt only when its stamp (hash of go.mod, go.sum, this script and
# the Go version) changed, so a warm run takes well under a second.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
bin="$here/bin"
cd "$here"
mkdir -p "$bin"

# Everything that decides what a binary is: pins, build recipe (this script) and toolchain.
# (A plain pipeline, so that with pipefail a missing input fails the script instead of
# silently leaving it out of the hash.)
stamp=$(cat go.mod go.sum "$self" <(go version) | sha256sum | cut -d' ' -f1)

butane_version=$(go list -m -f '{{.Version}}' github.com/coreos/butane)
ignition_version=$(go list -m -f '{{.Version}}' github.com/coreos/ignition/v2)
oauth2_proxy_version=$(go list -m -f '{{.Version}}' github.com/oauth2-proxy/oauth2-proxy/v7)

built=0
# build NAME PACKAGE [ENV=VALUE ...] -- [go build flags ...]
build() {
	local name=$1 pkg=$2
	shift 2
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	if [ -x "$bin/$name" ] && [ "$(cat "$bin/.$name.stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "tests/tools: $name is up to date"
		return
	fi
	echo "tests/tools: building $name from $pkg ${envs[*]:-} $*"
	local start=$SECONDS
	rm -f "$bin/.$name.stamp"
	# Build to a temporary name so an interrupted build never leaves a binary that looks current.
	env "${envs[@]}" go build -trimpath "$@" -o "$bin/$name.tmp" "$pkg"
	mv -f "$bin/$name.tmp" "$bin/$name"
	echo "$stamp" > "$bin/.$name.stamp"
	echo "tests/tools: built $name in $((SECONDS - start))s"
	built=$((built + 1))
}


build butane github.com/coreos/butane/internal -- \
	-ldflags "-X github.com/coreos/butane/internal/version.Raw=$butane_version"

# Static, no cgo: quadlet needs no system library with these tags.
build quadlet github.com/containers/podman/v5/cmd/quadlet CGO_ENABLED=0 -- \
	-tags "remote exclude_graphdriver_btrfs containers_image_openpgp"

build ignition-validate github.com/coreos/ignition/v2/validate -- \
	-ldflags "-X github.com/coreos/ignition/v2/internal/version.Raw=$ignition_version"

# The real Ignition binary needs cgo and libblkid headers (apt libblkid-dev). SELinux relabelling
# is compiled out: otherwise the files stage dies on the missing /etc/selinux/config of a scratch root.
if [ ! -x "$bin/ignition" ] || [ "$(cat "$bin/.ignition.stamp" 2>/dev/null)" != "$stamp" ]; then
	if [ ! -f /usr/include/blkid/blkid.h ]; then
		echo "tests/tools: building ignition needs libblkid headers: apt-get install -y libblkid-dev" >&2
		exit 1
	fi
fi
build ignition github.com/coreos/ignition/v2/internal CGO_ENABLED=1 -- \
	-ldflags "-X github.com/coreos/ignition/v2/internal/version.Raw=$ignition_version -X github.com/coreos/ignition/v2/internal/distro.selinuxRelabel=false"

# The gateway's end-to-end test runs the real oauth2-proxy (the appliance runs the same project's
# image). Static, no cgo; the version ldflag makes --version print the pin instead of "undefined".
build oauth2-proxy github.com/oauth2-proxy/oauth2-proxy/v7 CGO_ENABLED=0 -- \
	-ldflags "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$oauth2_proxy_version"

echo "tests/tools: $built built, $((5 - built)) up to date, ${SECONDS}s total in $bin"

#!/bin/sh
# sovereign-os-rebase: move this host, once, from the OS it was installed
# with (stock Fedora CoreOS) onto its own OS image, by digest, and reboot.
# On the OS image it finds itself booted from that image and does nothing.
#
#   os-rebase REPOSITORY@sha256:DIGEST
set -eu

say() { echo "sovereign-os-rebase: $*"; }
die() { echo "sovereign-os-rebase: $*" >&2; exit "${2:-1}"; }

[ $# -eq 1 ] || die "usage: os-rebase REPOSITORY@sha256:DIGEST" 2
target=$1
case $target in
*@sha256:*) ;;
*) die "$target is not REPOSITORY@sha256:DIGEST: the host OS goes to a digest, never a tag" 2 ;;
esac
origin=ostree-unverified-registry:$target

# The booted deployment names the image it came from; a rebase that was
# staged but never booted (power lost before the reboot) is done again.
booted=$(rpm-ostree status --booted --json) || die "cannot read the booted deployment (rpm-ostree status)"
case $booted in
*"\"$origin\""*)
	say "booted from $target"
	exit 0
	;;
esac

say "rebasing onto $target (the NVIDIA driver, the container toolkit and the packages the appliance needs)"
rpm-ostree rebase "$origin" || die "rpm-ostree rebase failed; the host stays on its current OS and this unit tries again" 3
say "rebooting into $target"
systemctl reboot
# Hold every unit ordered after this one until the reboot stops it.
exec sleep infinity

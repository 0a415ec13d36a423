#!/bin/sh
# sovereign-update: switch this appliance to another image of itself, by
# digest, and reboot into it. The previous deployment stays for rollback;
# sovereign-health-gate checks the new one after the reboot and rolls back
# when the gateway and engines are not healthy in time.
#
#   update REPOSITORY@sha256:DIGEST   switch to that image
#   update --follow                   switch to what FOLLOW (update.conf)
#                                     points to now, if it changed
set -eu

STATE=${SOVEREIGN_UPDATE_STATE:-/var/lib/sovereign/update}
CONF=${SOVEREIGN_UPDATE_CONF:-/etc/sovereign/update.conf}

say() { echo "sovereign-update: $*"; }
die() { echo "sovereign-update: $*" >&2; exit "${2:-1}"; }

[ $# -eq 1 ] || die "usage: update REPOSITORY@sha256:DIGEST | update --follow" 2
case $1 in
--follow)
	[ -r "$CONF" ] || die "no $CONF: build with --image REF --update-timer to follow REF"
	FOLLOW=
	# shellcheck source=/dev/null # written by sovereign build, on the host only
	. "$CONF"
	[ -n "$FOLLOW" ] || die "$CONF sets no FOLLOW="
	digest=$(skopeo inspect --no-tags --format '{{.Digest}}' "docker://$FOLLOW") || die "cannot resolve $FOLLOW" 3
	repo=$FOLLOW
	# Drop the tag (after the last colon, when no slash follows it).
	case ${FOLLOW##*/} in *:*) repo=${FOLLOW%:*} ;; esac
	target=$repo@$digest
	;;
*@sha256:*) target=$1 ;;
*) die "$1 is not REPOSITORY@sha256:DIGEST: updates go to a digest, never a tag" 2 ;;
esac

hex=${target##*@sha256:}
case $hex in
*[!0-9a-f]*) die "$target: the digest must be 64 lowercase hex digits" 2 ;;
esac
[ ${#hex} -eq 64 ] || die "$target: the digest must be 64 lowercase hex digits" 2

if [ -e "$STATE/failed/$hex" ]; then
	die "$target failed the health gate before ($(cat "$STATE/failed/$hex")); remove $STATE/failed/$hex to try it again"
fi
if [ -f "$STATE/current" ] && [ "$(cat "$STATE/current")" = "$target" ]; then
	say "already running $target"
	exit 0
fi

mkdir -p "$STATE"
# The health gate checks the next boot against this.
echo "$target" >"$STATE/pending.new"
mv "$STATE/pending.new" "$STATE/pending"

if command -v bootc >/dev/null 2>&1; then
	say "bootc switch to $target"
	bootc switch --transport registry "$target" || { rm -f "$STATE/pending"; die "bootc switch failed; still on the current deployment" 3; }
else
	say "rpm-ostree rebase to $target"
	rpm-ostree rebase "ostree-unverified-registry:$target" || { rm -f "$STATE/pending"; die "rpm-ostree rebase failed; still on the current deployment" 3; }
fi
say "rebooting into $target"
systemctl reboot

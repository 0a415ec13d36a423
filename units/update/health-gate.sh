#!/bin/sh
# sovereign-health-gate: after a boot into a new appliance image (an update
# left STATE/pending), wait until the gateway and every engine are healthy.
# Then the new deployment is the current one. If they are not healthy within
# the deadline — or the booted deployment is not the image the update asked
# for — roll back to the previous deployment and reboot, and remember the
# image as failed so that nothing switches to it again by itself.
set -u

STATE=${SOVEREIGN_UPDATE_STATE:-/var/lib/sovereign/update}
CONF=${SOVEREIGN_HEALTH_CONF:-/usr/lib/sovereign/health-gate.conf}

say() { echo "sovereign-health-gate: $*"; }

[ -f "$STATE/pending" ] || { say "no update pending; nothing to check"; exit 0; }
target=$(cat "$STATE/pending")
hex=${target##*@sha256:}

UNITS=
CONTAINERS=
DEADLINE=3600
PREPARE=
PREPARE_DEADLINE=0
INTERVAL=10
# shellcheck source=/dev/null # written by sovereign build, on the host only
[ -r "$CONF" ] && . "$CONF"

rollback() {
	say "FAILED: $1; rolling back"
	mkdir -p "$STATE/failed"
	echo "$1" >"$STATE/failed/$hex"
	rm -f "$STATE/pending"
	if command -v bootc >/dev/null 2>&1; then
		bootc rollback || rpm-ostree rollback || { say "rollback failed; staying up for an operator"; exit 1; }
	else
		rpm-ostree rollback || { say "rollback failed; staying up for an operator"; exit 1; }
	fi
	systemctl reboot
	exit 1
}

booted=$(rpm-ostree status --booted --json) || booted=
case $booted in
*"$hex"*) ;;
*) rollback "the booted deployment is not $target" ;;
esac

# What the containers need first — model weights to fetch, the CDI spec —
# may take hours for a new model. Their own start timeouts bound that wait;
# the deadline for the gateway and engines starts once they are ready.
pstart=$(date +%s)
said=
while :; do
	waiting=
	for u in $PREPARE; do
		case $(systemctl show -p ActiveState --value "$u") in
		active) ;;
		failed) rollback "$u failed" ;;
		*) waiting="$waiting $u" ;;
		esac
	done
	[ -z "$waiting" ] && break
	if [ "$PREPARE_DEADLINE" -gt 0 ] && [ $(($(date +%s) - pstart)) -ge "$PREPARE_DEADLINE" ]; then
		rollback "not ready within ${PREPARE_DEADLINE}s:$waiting"
	fi
	[ "$said" = "$waiting" ] || say "waiting for$waiting"
	said=$waiting
	sleep "$INTERVAL"
done

start=$(date +%s)
while :; do
	bad=
	for u in $UNITS; do
		if systemctl is-failed --quiet "$u"; then
			rollback "$u failed"
		fi
		systemctl is-active --quiet "$u" || bad="$bad $u"
	done
	if [ -z "$bad" ]; then
		for c in $CONTAINERS; do
			podman healthcheck run "$c" >/dev/null 2>&1 || bad="$bad $c(unhealthy)"
		done
	fi
	if [ -z "$bad" ]; then
		mv "$STATE/pending" "$STATE/current"
		say "healthy: $target is now the current deployment"
		exit 0
	fi
	now=$(date +%s)
	if [ $((now - start)) -ge "$DEADLINE" ]; then
		rollback "not healthy within ${DEADLINE}s:$bad"
	fi
	sleep "$INTERVAL"
done

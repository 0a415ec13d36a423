#!/bin/sh
# sovereign-verify: does this host still run what its build made? Run by
# sovereign-verify.timer; each difference is logged (the journal keeps it)
# and the unit fails, so `systemctl --failed` and monitoring see drift.
# The manifest lists every file of the build as "file MODE SHA256 PATH" and
# every unit as "unit NAME"; a secret's SHA256 is "-" (the manifest holds no
# trace of a secret), so only its presence and mode are checked. SOVEREIGN_ROOT (default /) is for tests.
set -u
root=${SOVEREIGN_ROOT:-}
manifest=$root/etc/sovereign/manifest
drift=0
report() {
	printf 'drift: %s\n' "$*"
	drift=$((drift + 1))
}
if [ ! -r "$manifest" ]; then
	echo "sovereign-verify: no manifest at $manifest" >&2
	exit 1
fi
while read -r kind a b c; do
	case $kind in
	file)
		f=$root$c
		if [ ! -f "$f" ]; then
			report "$c is missing"
			continue
		fi
		# A secret's digest is "-": only its presence and mode are checked here.
		if [ "$b" != - ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$b" ]; then
			report "$c has other contents than the build"
		fi
		have=$(stat -c %a "$f")
		[ "$have" = "${a#0}" ] || report "$c has mode $have, the build $a"
		;;
	unit)
		if systemctl is-failed --quiet "$a"; then report "unit $a has failed"; fi
		;;
	esac
done <"$manifest"
if [ "$drift" -gt 0 ]; then
	echo "sovereign-verify: $drift difference(s) from the build; sovereign verify or sovereign apply from the blueprint's repository shows and fixes them"
	exit 1
fi
echo "sovereign-verify: the host matches its build"

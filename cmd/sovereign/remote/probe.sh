#!/bin/sh
# probe.sh ROOT PATH... -- UNIT... -- CONTAINER... -- USER... -- MOUNTPOINT...
# Prints what this host runs, one tab-separated record a line, for
# `sovereign verify`:
#   F MODE SHA256 PATH              every regular file at or under each PATH
#   L TARGET PATH                   every symbolic link under each DIR
#   U UNIT LOAD ACTIVE SUB ENABLED  each UNIT's state as `systemctl show` gives it
#   C NAME IMAGE                    the image each container was created from
#   O REFERENCE                     the image the booted OS deployment came from
#   P USER                          each USER that has an account
#   M PATH                          each MOUNTPOINT that has a filesystem mounted
# ROOT is the host's "/" ("/" on a real host; a scratch folder in tests).
# It prints no file's contents, only their SHA-256.
set -eu
root=${1%/}
shift
tab=$(printf '\t')

while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	dir=$root$1
	shift
	[ -e "$dir" ] || [ -L "$dir" ] || continue
	find "$dir" \( -type f -o -type l \) -print | LC_ALL=C sort | while IFS= read -r f; do
		p=${f#"$root"}
		if [ -L "$f" ]; then
			printf 'L%s%s%s%s\n' "$tab" "$(readlink "$f")" "$tab" "$p"
		else
			sum=$(sha256sum "$f" | cut -d' ' -f1)
			printf 'F%s%s%s%s%s%s\n' "$tab" "$(stat -c %a "$f")" "$tab" "$sum" "$tab" "$p"
		fi
	done
done
[ $# -gt 0 ] && shift

field() { printf '%s\n' "$2" | sed -n "s/^$1=//p"; }
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	unit=$1
	shift
	out=$(systemctl show --property=LoadState --property=ActiveState --property=SubState --property=UnitFileState -- "$unit" 2>/dev/null || true)
	printf 'U%s%s%s%s%s%s%s%s%s%s\n' "$tab" "$unit" "$tab" "$(field LoadState "$out")" "$tab" "$(field ActiveState "$out")" \
		"$tab" "$(field SubState "$out")" "$tab" "$(field UnitFileState "$out")"
done
[ $# -gt 0 ] && shift

while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	name=$1
	shift
	image=$(podman container inspect --format '{{.ImageName}}' -- "$name" 2>/dev/null || true)
	printf 'C%s%s%s%s\n' "$tab" "$name" "$tab" "${image:--}"
done
[ $# -gt 0 ] && shift

while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	if grep -q "^$1:" "$root/etc/passwd" 2>/dev/null; then printf 'P%s%s\n' "$tab" "$1"; fi
	shift
done
[ $# -gt 0 ] && shift

for m in "$@"; do
	if mountpoint -q "$root$m" 2>/dev/null; then printf 'M%s%s\n' "$tab" "$m"; fi
done

if command -v rpm-ostree >/dev/null 2>&1; then
	ref=$(rpm-ostree status --booted --json 2>/dev/null | sed -n 's/.*"container-image-reference" *: *"\([^"]*\)".*/\1/p' | head -n 1)
	[ -z "$ref" ] || printf 'O%s%s\n' "$tab" "$ref"
fi

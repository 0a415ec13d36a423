#!/bin/sh
# apply.sh start ROOT ID HEALTH_TIMEOUT DRAIN_GRACE < PAYLOAD.tar
# Changes a running appliance to a new build, all or nothing, for
# `sovereign apply`. The payload holds the new files at their paths, this
# script as .apply.sh, and a .plan of one operation a line:
#   W PATH          write PATH from the payload (with the payload's mode)
#   D PATH          delete PATH
#   L PATH TARGET   make PATH a symbolic link to TARGET
#   T UNIT          stop UNIT before the switch (its file goes away)
#   R UNIT          restart UNIT after the switch, in plan order
#   N               drain the gateway while engines restart
# Every file it replaces or deletes is first copied to a backup, and the
# switch is one rename per file, from a copy staged beside it (the same
# filesystem). A journal names the apply in progress: while it exists the
# host may be half-way, and the next apply rolls that one back first. When
# a restarted unit is not active within HEALTH_TIMEOUT seconds, every file
# comes back from the backup and the units restart on the old files.
# "start" unpacks the payload and runs "work" detached from the ssh session
# (a dropped connection never stops it half-way), then streams its log.
set -eu
mode=$1
root=${2%/}
id=$3
health_timeout=$4
drain_grace=$5

base=$root/var/lib/sovereign/apply
journal=$base/journal
work=$base/$id
log=$base/$id.log
drain=$root/run/sovereign/drain

say() { printf '%s\n' "$*"; }

# rollback ID: put back every file the apply with that ID touched, and
# restart its units on them.
rollback() {
	w=$base/$1
	if [ ! -f "$w/new/.plan" ]; then
		rm -f "$journal"
		return 0
	fi
	while read -r op path _; do
		case $op in
		W | D | L)
			if [ -e "$w/old$path" ] || [ -L "$w/old$path" ]; then
				cp -Pp "$w/old$path" "$root$path.sovereign-old"
				mv -f "$root$path.sovereign-old" "$root$path"
			elif grep -qxF "$path" "$w/absent" 2>/dev/null; then
				rm -f "$root$path"
			fi
			rm -f "$root$path.sovereign-new"
			;;
		esac
	done <"$w/new/.plan"
	systemctl daemon-reload
	while read -r op unit; do
		case $op in
		R | T) systemctl restart --no-block "$unit" || say "could not restart $unit on the old files" ;;
		esac
	done <"$w/new/.plan"
	rm -f "$drain" "$journal"
	rm -rf "$w"
}

# wait_active UNIT: until UNIT is active; false when it fails or
# HEALTH_TIMEOUT passes first.
wait_active() {
	waited=0
	while :; do
		state=$(systemctl is-active "$1" || true)
		if [ "$state" = active ]; then
			say "$1 is active"
			return 0
		fi
		if [ "$state" = failed ] || [ "$waited" -ge "$health_timeout" ]; then
			say "$1 is $state after ${waited}s"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
		if [ $((waited % 30)) -eq 0 ]; then say "waiting for $1 ($state, ${waited}s)"; fi
	done
}

# stage: copy each new file next to its target, back up what it replaces.
stage() {
	mkdir -p "$work/old"
	: >"$work/absent"
	while read -r op path target; do
		case $op in W | D | L) ;; *) continue ;; esac
		mkdir -p "$(dirname "$root$path")" "$(dirname "$work/old$path")"
		if [ -e "$root$path" ] || [ -L "$root$path" ]; then
			cp -Pp "$root$path" "$work/old$path"
		else
			printf '%s\n' "$path" >>"$work/absent"
		fi
		case $op in
		W) cp -Pp "$work/new$path" "$root$path.sovereign-new" ;;
		L) ln -sfn "$target" "$root$path.sovereign-new" ;;
		esac
	done <"$work/new/.plan"
}

# switch: drain, stop what goes away, rename every staged file into place,
# start again.
switch() {
	plan=$work/new/.plan
	if grep -qx N "$plan"; then
		mkdir -p "$(dirname "$drain")"
		: >"$drain"
		say "draining the gateway for ${drain_grace}s"
		sleep "$drain_grace"
	fi
	while read -r op unit; do
		case $op in T) systemctl stop "$unit" ;; esac
	done <"$plan"
	while read -r op path _; do
		case $op in
		W | L) mv -f "$root$path.sovereign-new" "$root$path" ;;
		D) rm -f "$root$path" ;;
		esac
	done <"$plan"
	systemctl daemon-reload
	while read -r op unit; do
		case $op in
		R)
			say "restarting $unit"
			systemctl restart --no-block "$unit"
			;;
		esac
	done <"$plan"
}

# on_exit: a step that failed half-way (set -e) must not leave a mix.
on_exit() {
	code=$?
	if [ "$code" -ne 0 ]; then
		say "failed (exit $code): rolling back"
		rollback "$id"
		say "ROLLED-BACK"
	fi
}

work() {
	trap on_exit EXIT
	if [ -f "$journal" ]; then
		prev=$(cat "$journal")
		say "an earlier apply ($prev) did not finish: rolling it back first"
		rollback "$prev"
	fi
	stage
	printf '%s\n' "$id" >"$journal.tmp"
	mv -f "$journal.tmp" "$journal"
	switch
	failed=""
	while read -r op unit; do
		case $op in
		R) wait_active "$unit" || failed="$failed $unit" ;;
		esac
	done <"$work/new/.plan"
	if [ -n "$failed" ]; then
		say "not healthy:$failed; rolling back to the previous files"
		rollback "$id"
		say "ROLLED-BACK"
		trap - EXIT
		return 0
	fi
	rm -f "$drain" "$journal"
	rm -rf "$work"
	trap - EXIT
	say "APPLIED"
}

start() {
	mkdir -p "$work/new"
	tar -x -p -C "$work/new"
	: >"$log"
	setsid sh "$work/new/.apply.sh" work "$root" "$id" "$health_timeout" "$drain_grace" >>"$log" 2>&1 </dev/null &
	worker=$!
	shown=0
	while :; do
		total=$(wc -l <"$log")
		if [ "$total" -gt "$shown" ]; then
			sed -n "$((shown + 1)),${total}p" "$log"
			shown=$total
		fi
		if grep -qxE 'APPLIED|ROLLED-BACK' "$log"; then
			# The result may have been written after the lines shown above.
			sed -n "$((shown + 1)),\$p" "$log"
			return 0
		fi
		if ! kill -0 "$worker" 2>/dev/null && ! grep -qxE 'APPLIED|ROLLED-BACK' "$log"; then
			sed -n "$((shown + 1)),\$p" "$log"
			say "the apply on the host stopped without a result; see $log"
			return 1
		fi
		sleep 1
	done
}

case $mode in
start) start ;;
work) work ;;
*)
	echo "usage: apply.sh start|work ROOT ID HEALTH_TIMEOUT DRAIN_GRACE" >&2
	exit 2
	;;
esac

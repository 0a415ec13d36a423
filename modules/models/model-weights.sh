#!/bin/bash
# model-weights: puts a model's weights in place and verifies them. Written by
# sovereign; each sovereign-model-NAME.service runs it before the engines that
# serve model NAME start. It needs only bash, coreutils and curl, which Fedora
# CoreOS ships.
#
#   model-weights check  NAME DIR
#       Pre-staged weights without a manifest: DIR must hold at least one
#       file. Nothing else is checked, and the log says so.
#   model-weights verify NAME DIR MANIFEST REVISION
#       Pre-staged weights with a manifest: DIR must hold exactly the files
#       MANIFEST lists, each with its sha256. Nothing is fetched or changed.
#   model-weights fetch  NAME DIR MANIFEST REVISION BASE_URL
#       As verify; when DIR does not match, every file that is missing or
#       wrong is fetched from BASE_URL/FILE into the staging folder .NAME.partial
#       beside DIR and verified, and only a complete, verified staging folder
#       is renamed to DIR. Files of DIR that match are hard-linked, not fetched
#       again; an interrupted download is resumed where it stopped.
#
# MANIFEST is in sha256sum's format, "<64 hex digits>  <path inside DIR>" per
# line. REVISION is the commit the weights come from ("-" when unknown); it is
# recorded with the verification.
#
# A folder verified in full is recorded in .NAME.verified beside DIR: the
# revision, the manifest's sha256, and each file's size. While that record
# matches, later boots compare only file names and sizes instead of hashing
# every byte again. Delete .NAME.verified to force a full check.
#
# HF_TOKEN, when set, is sent as a bearer token (a gated repository needs
# one). curl reads the header from a pipe, so the token is never on a command
# line, and does not send it on when a redirect leads to another host.
#
# Settings from the environment, for tests and operators:
#   SOVEREIGN_FETCH_ATTEMPTS     attempts per file in a row that make no
#                                progress before giving up (default 20)
#   SOVEREIGN_FETCH_RETRY_DELAY  first wait between attempts, in seconds; it
#                                doubles after each attempt without progress,
#                                up to 300 (default 5)
set -euo pipefail
export LC_ALL=C
umask 022

usage() {
	echo "usage: model-weights check NAME DIR" >&2
	echo "       model-weights verify NAME DIR MANIFEST REVISION" >&2
	echo "       model-weights fetch NAME DIR MANIFEST REVISION BASE_URL" >&2
	exit 2
}

mode=${1-}
name=${2-}
dir=${3-}
[[ -n $mode && -n $name && $dir == /* ]] || usage
dir=${dir%/}
parent=${dir%/*}
parent=${parent:-/}
staging=$parent/.$name.partial
old=$parent/.$name.old
marker=$parent/.$name.verified
attempts=${SOVEREIGN_FETCH_ATTEMPTS:-20}
retry_delay=${SOVEREIGN_FETCH_RETRY_DELAY:-5}

log() { printf 'model %s: %s\n' "$name" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

# list_files DIR prints the path of everything below DIR that is not a folder
# (symbolic links included), relative to DIR, sorted.
list_files() {
	(
		shopt -s globstar dotglob nullglob
		local f
		for f in "$1"/**; do
			if [[ -L $f || ! -d $f ]]; then
				printf '%s\n' "${f#"$1"/}"
			fi
		done
	) | sort
}

# manifest_names prints the paths MANIFEST lists, sorted.
manifest_names() {
	local sum path
	while read -r sum path; do
		printf '%s\n' "$path"
	done <"$manifest" | sort
}

sha256_of() {
	local sum
	sum=$(sha256sum <"$1")
	printf '%s\n' "${sum%% *}"
}

size_of() {
	if [[ -f $1 ]]; then stat -c %s -- "$1"; else echo 0; fi
}

# verify_dir DIR succeeds when DIR holds exactly the files MANIFEST lists,
# each with its sha256; otherwise it logs every problem and fails. The array
# good holds the files that match.
verify_dir() {
	local d=$1 sum path got status=0
	good=()
	while read -r sum path <&3; do
		if [[ -L $d/$path || ! -f $d/$path ]]; then
			log "missing: $path"
			status=1
			continue
		fi
		got=$(sha256_of "$d/$path")
		if [[ $got != "$sum" ]]; then
			log "corrupted: $path has sha256 $got, the manifest says $sum"
			status=1
			continue
		fi
		good+=("$path")
	done 3<"$manifest"
	while read -r path; do
		log "unexpected: $path is not in $manifest"
		status=1
	done < <(comm -13 <(manifest_names) <(list_files "$d"))
	return "$status"
}

# record prints what .NAME.verified holds for DIR.
record() {
	local path
	printf 'revision %s\nmanifest %s\n' "$revision" "$manifest_sum"
	while read -r path; do
		printf '%s %s\n' "$(stat -c %s -- "$1/$path")" "$path"
	done < <(list_files "$1")
}

write_marker() {
	record "$dir" >"$marker.tmp"
	sync --file-system "$marker.tmp"
	mv -f -- "$marker.tmp" "$marker"
}

# verified_before succeeds when DIR was verified in full against this manifest
# and still has the same files with the same sizes.
verified_before() {
	[[ -f $marker && -d $dir ]] && [[ "$(record "$dir")" == "$(<"$marker")" ]]
}

fetch_curl() {
	if [[ -n ${HF_TOKEN-} ]]; then
		curl --header @<(printf 'Authorization: Bearer %s\n' "$HF_TOKEN") "$@"
	else
		curl "$@"
	fi
}

# fetch_file PATH SUM downloads BASE_URL/PATH into the staging folder,
# resuming a partial download, and renames it to its final name there only
# once its sha256 matches. Network failures are retried, and end the script
# after SOVEREIGN_FETCH_ATTEMPTS in a row without progress. A file that is
# corrupted, or that the server refuses, fails; the caller goes on with the
# other files so that one run reports every such problem.
fetch_file() {
	local path=$1 sum=$2
	local part=$staging/$path.part dest=$staging/$path url=$base_url/$path
	local failures=0 delay=$retry_delay restarted=0 before after rc code got
	mkdir -p -- "$(dirname -- "$dest")" || die "cannot create the folder of $dest"
	while :; do
		before=$(size_of "$part")
		rc=0
		code=$(fetch_curl --silent --show-error --fail --location \
			--proto =http,https --proto-redir =http,https \
			--connect-timeout 30 --speed-limit 1024 --speed-time 120 \
			--continue-at - --output "$part" --write-out '%{http_code}' \
			-- "$url" </dev/null) || rc=$?
		if ((rc == 0)) || { ((rc == 22)) && [[ $code == 416 ]]; }; then
			# 416: the previous run had the whole file but stopped before
			# renaming it; check what is there.
			got=$(sha256_of "$part")
			if [[ $got == "$sum" ]]; then
				mv -f -- "$part" "$dest" || die "cannot rename $part to $dest"
				return 0
			fi
			rm -f -- "$part"
			if ((before > 0 && !restarted)); then
				# Resumed onto bytes of another download (the server's
				# file or the manifest changed since): start over once.
				log "$path does not match its sha256 after resuming; fetching it again from the start"
				restarted=1
				continue
			fi
			log "corrupted: $path from $url has sha256 $got, the manifest says $sum; rejected and deleted"
			return 1
		fi
		if ((rc == 22)) && [[ $code == 4* && $code != 408 && $code != 429 ]]; then
			if [[ $code == 401 || $code == 403 ]]; then
				# Every other file would be refused too: say it once.
				if [[ -n ${HF_TOKEN-} ]]; then
					die "$url: HTTP $code: the server refuses the token (has its account accepted the repository's terms?). Nothing was moved into $dir."
				fi
				die "$url: HTTP $code: the server wants a token; a gated repository needs token = secret_file(\"…\") in the model block. Nothing was moved into $dir."
			fi
			log "$url: HTTP $code: check source, revision and the file name in the blueprint"
			return 1
		fi
		if ((rc == 23)); then
			# Retrying cannot help a full disk.
			die "cannot write $part (curl exit 23): is the disk full? The files fetched so far are kept in $staging; nothing was moved into $dir."
		fi
		if ((rc == 33)); then
			log "$url: the server cannot resume a download; fetching $path from the start"
			rm -f -- "$part"
		fi
		after=$(size_of "$part")
		if ((after > before)); then
			failures=0
			delay=$retry_delay
		else
			failures=$((failures + 1))
		fi
		if ((failures >= attempts)); then
			die "giving up on $path after $attempts attempts in a row without progress (curl exit $rc, HTTP $code). The $after bytes fetched so far are kept in $staging and resumed next time; nothing was moved into $dir."
		fi
		log "$path: stopped at $after bytes (curl exit $rc, HTTP $code); trying again in ${delay}s"
		sleep "$delay"
		delay=$((delay * 2 > 300 ? 300 : delay * 2))
	done
}

# tidy_staging keeps what an earlier run left in the staging folder only if it
# can still serve this manifest: verified files that still match, and partial
# downloads of listed files. Everything else goes.
tidy_staging() {
	local path sum
	declare -A want=()
	while read -r sum path; do
		want[$path]=$sum
	done <"$manifest"
	while read -r path; do
		if [[ $path == *.part && -n ${want[${path%.part}]-} && -f $staging/$path && ! -L $staging/$path ]]; then
			continue
		fi
		if [[ -n ${want[$path]-} && -f $staging/$path && ! -L $staging/$path ]] &&
			[[ $(sha256_of "$staging/$path") == "${want[$path]}" ]]; then
			continue
		fi
		log "removing $staging/$path, left by an earlier run"
		rm -f -- "$staging/$path"
	done < <(list_files "$staging")
}

check() {
	[[ -d $dir ]] || die "$dir does not exist. Copy the model's files there: the blueprint pins none, so they are not fetched."
	local n
	n=$(list_files "$dir" | wc -l)
	((n > 0)) || die "$dir is empty. Copy the model's files there: the blueprint pins none, so they are not fetched."
	log "UNVERIFIED: $dir holds $n files; the blueprint lists no files with their sha256, so nothing more is checked."
}

verify() {
	if verified_before; then
		log "$dir was verified before against $manifest (revision $revision); its files and sizes are unchanged"
		return 0
	fi
	[[ -d $dir ]] || die "$dir does not exist. Copy the files $manifest lists there."
	rm -f -- "$marker"
	log "checking every file of $dir against $manifest"
	verify_dir "$dir" || die "$dir does not match $manifest (see above). The engines serving $name will not start until it does."
	write_marker
	log "verified $dir against $manifest (revision $revision)"
}

# drop_leftovers removes what an earlier fetch left beside DIR once DIR is
# what the manifest asks for: a download for another manifest (a revision the
# blueprint has gone back from) would otherwise take disk space for good.
drop_leftovers() {
	if [[ -e $staging || -e $old ]]; then
		log "removing $staging and $old, left by an earlier fetch"
		rm -rf -- "$staging" "$old"
	fi
}

fetch() {
	if verified_before; then
		log "$dir was verified before against $manifest (revision $revision); its files and sizes are unchanged"
		drop_leftovers
		return 0
	fi
	rm -f -- "$marker"
	good=()
	if [[ -d $dir && -n $(list_files "$dir") ]]; then
		log "checking every file of $dir against $manifest"
		if verify_dir "$dir"; then
			write_marker
			log "verified $dir against $manifest (revision $revision)"
			drop_leftovers
			return 0
		fi
		log "$dir does not match $manifest; fetching what is missing or wrong into $staging"
	fi
	mkdir -p -- "$staging"
	tidy_staging
	local path sum n=0 total
	for path in "${good[@]}"; do
		if [[ ! -e $staging/$path ]]; then
			mkdir -p -- "$(dirname -- "$staging/$path")"
			ln -- "$dir/$path" "$staging/$path"
			rm -f -- "$staging/$path.part"
		fi
	done
	local rejected=()
	total=$(wc -l <"$manifest")
	while read -r sum path <&3; do
		n=$((n + 1))
		if [[ -f $staging/$path ]]; then
			continue
		fi
		log "fetching $path ($n of $total) from $base_url"
		fetch_file "$path" "$sum" || rejected+=("$path")
	done 3<"$manifest"
	if ((${#rejected[@]} > 0)); then
		die "rejected ${rejected[*]} (see above); nothing was moved into $dir. The files that passed are kept in $staging and not fetched again."
	fi
	if [[ -n $(comm -3 <(manifest_names) <(list_files "$staging")) ]]; then
		die "$staging does not hold exactly the files of $manifest; nothing was moved into $dir"
	fi
	# The data must be on disk before the folder is marked verified: after a
	# power cut, a renamed folder of unwritten blocks would pass the size check.
	sync --file-system "$staging"
	rm -rf -- "$old"
	if [[ -e $dir ]]; then
		mv -T -- "$dir" "$old"
	fi
	mv -T -- "$staging" "$dir"
	rm -rf -- "$old"
	write_marker
	log "fetched and verified $dir against $manifest (revision $revision)"
}

case $mode in
check)
	(($# == 3)) || usage
	check
	;;
verify | fetch)
	if [[ $mode == verify ]]; then (($# == 5)) || usage; else (($# == 6)) || usage; fi
	manifest=$4
	revision=$5
	base_url=${6-}
	base_url=${base_url%/}
	[[ -s $manifest ]] || die "the manifest $manifest is missing or empty"
	manifest_sum=$(sha256_of "$manifest")
	"$mode"
	;;
*) usage ;;
esac

#!/bin/sh
# Fails the image build unless the NVIDIA kernel module installed for the
# image's kernel is the wanted flavour and the same release as the userspace
# driver, and the container toolkit is new enough to refresh the CDI spec:
#   check-nvidia.sh FLAVOUR DRIVER
# FLAVOUR is open or proprietary; DRIVER a branch (580) or release
# (580.126.20). A mismatch here is a host whose engines never see the GPU.
set -eu

flavour=$1 driver=$2

fail() {
	echo "check-nvidia.sh: $*" >&2
	exit 1
}

# A bootc image carries exactly one kernel.
set -- /usr/lib/modules/*/
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	fail "expected one kernel in /usr/lib/modules, found: $*"
fi
kver=$(basename "$1")

license=$(modinfo -k "$kver" -F license nvidia) || fail "no nvidia kernel module for kernel $kver"
module_version=$(modinfo -k "$kver" -F version nvidia)

# NVIDIA's open kernel modules are dual licensed MIT/GPLv2; the proprietary
# ones say NVIDIA.
case $flavour/$license in
open/"Dual MIT/GPL") ;;
open/*) fail "the nvidia module for $kver is the proprietary flavour (license \"$license\"); this GPU needs the open kernel modules" ;;
proprietary/"Dual MIT/GPL") fail "the nvidia module for $kver is the open flavour, but the proprietary one was asked for" ;;
esac

user_version=
for lib in /usr/lib64/libcuda.so.*.* /usr/lib/*/libcuda.so.*.*; do
	[ -e "$lib" ] && user_version=${lib##*/libcuda.so.}
done
[ -n "$user_version" ] || fail "no userspace driver (libcuda.so.VERSION) installed"
[ "$module_version" = "$user_version" ] ||
	fail "kernel module $module_version and userspace driver $user_version differ: the driver refuses to start"

case $driver in
*.*) [ "$module_version" = "$driver" ] || fail "driver $module_version installed, $driver wanted" ;;
*) case $module_version in "$driver".*) ;; *) fail "driver $module_version is not of branch $driver" ;; esac ;;
esac

# nvidia-cdi-refresh.{path,service} ship with the toolkit from 1.18 on.
toolkit=$(rpm -q --qf '%{VERSION}\n' nvidia-container-toolkit | tail -n 1)
oldest=$(printf '%s\n1.18.0\n' "$toolkit" | sort -V | head -n 1)
[ "$oldest" = 1.18.0 ] || fail "nvidia-container-toolkit $toolkit has no nvidia-cdi-refresh; 1.18.0 or newer is needed"

echo "check-nvidia.sh: $flavour kernel module $module_version for $kver matches the userspace driver"

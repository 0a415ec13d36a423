#!/bin/sh
# sovereign-nvidia-cdi: write the NVIDIA CDI spec that every GPU container
# uses, once the driver is loaded. When the host OS cannot give the GPU to
# containers (no toolkit, no driver for the running kernel, a driver that
# does not load), it fails once with what is missing: the engines that
# require it then stay stopped with that reason in the journal, instead of
# restarting forever.
#
#   nvidia-cdi SPEC WAIT_SECONDS
set -eu

spec=$1 wait=$2

die() {
	echo "sovereign-nvidia-cdi: $*" >&2
	exit 1
}

command -v nvidia-ctk >/dev/null 2>&1 ||
	die "no nvidia-ctk: this host's OS has no NVIDIA container toolkit (stock Fedora CoreOS has none); provision it onto the OS image that sovereign os build builds"

if [ ! -e /proc/driver/nvidia/version ]; then
	modinfo nvidia >/dev/null 2>&1 ||
		die "no nvidia kernel module for the running kernel $(uname -r): the OS image lacks the NVIDIA driver built for its kernel"
	modprobe nvidia ||
		die "modprobe nvidia failed: the driver does not load on this GPU (the kernel log says why; \"RmInitAdapter failed\" is the proprietary flavour on a GPU that needs the open kernel modules)"
fi
waited=0
while [ ! -e /proc/driver/nvidia/version ]; do
	[ "$waited" -lt "$wait" ] || die "the nvidia driver did not come up within ${wait}s"
	sleep 1
	waited=$((waited + 1))
done

nvidia-ctk cdi generate --output="$spec" || die "nvidia-ctk cdi generate failed: it found no GPU the driver drives"
[ -s "$spec" ] || die "nvidia-ctk wrote no CDI spec at $spec"
echo "sovereign-nvidia-cdi: $(head -n 1 /proc/driver/nvidia/version); CDI spec in $spec"

#!/bin/sh
# Installs the host OS image's packages through the base's own package tool
# (dnf), at image build time:
#   install.sh FAMILY NVIDIA_REPO KERNEL_64K DRIVER FLAVOUR [PACKAGE...]
# FAMILY is fedora-coreos or centos-bootc; NVIDIA_REPO the distribution part
# of NVIDIA's CUDA repository path with %s for the release's major version;
# KERNEL_64K the 64 KB-page kernel package to switch to, or "-"; DRIVER an
# NVIDIA driver branch (580) or release (580.126.20), or "-" for none;
# FLAVOUR open or proprietary.
set -eu

family=$1 nvidia_repo=$2 kernel64k=$3 driver=$4 flavour=$5
shift 5

fail() {
	echo "install.sh: $*" >&2
	exit 1
}

# shellcheck source=/dev/null
. /etc/os-release
major=${VERSION_ID%%.*}
arch=$(rpm -E '%{_arch}')

case $family in
fedora-coreos) ;;
centos-bootc)
	# EPEL carries dkms (for NVIDIA's DKMS module packages) and NUT.
	dnf -y install epel-release
	;;
*) fail "unknown base family $family" ;;
esac

kernel=kernel
if [ "$kernel64k" != - ]; then
	dnf -y install "$kernel64k"
	dnf -y remove kernel kernel-core kernel-modules kernel-modules-core
	kernel=$kernel64k
fi

if [ "$driver" != - ]; then
	# NVIDIA's repositories: x86_64, and sbsa for Arm servers.
	repo_arch=$arch
	[ "$arch" = aarch64 ] && repo_arch=sbsa
	# shellcheck disable=SC2059 # the repository pattern is ours, with one %s
	distro=$(printf "$nvidia_repo" "$major")
	curl -fsSL -o /etc/yum.repos.d/cuda.repo \
		"https://developer.download.nvidia.com/compute/cuda/repos/$distro/$repo_arch/cuda-$distro.repo"
	curl -fsSL -o /etc/yum.repos.d/nvidia-container-toolkit.repo \
		https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo
	case $driver in
	*.*) version=$driver ;;
	*) version="$driver.*" ;;
	esac
	case $flavour in
	open) driver_package=nvidia-open-$version ;;
	*) driver_package=cuda-drivers-$version ;;
	esac
	# The image's own kernel, not the build host's: DKMS must build for it.
	kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$kernel-core" | tail -n 1)
	dnf -y install "$kernel-devel-${kver%.*}" "$@"
	dnf -y install "$driver_package"
	dkms autoinstall -k "$kver"
else
	[ $# -eq 0 ] || dnf -y install "$@"
fi

dnf clean all
rm -rf /var/cache/dnf /var/lib/dnf

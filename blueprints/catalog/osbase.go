package catalog

import (
	"slices"
	"strings"
)

// OSBase is a bootable container image family an os block can build on:
// what the rendered Containerfile must know about it and what the
// blueprint's checks need (its kernel's page size on arm64).
type OSBase struct {
	// Repository is the image repository, without tag or digest.
	Repository string
	// Family names the rendering: "fedora-coreos" or "centos-bootc".
	Family string
	// Arm64PageSize is the page size of the base's own aarch64 kernel.
	Arm64PageSize int
	// Kernel64K is the package that replaces the kernel with a 64 KB-page
	// one on aarch64, "" when the family has none.
	Kernel64K string
	// NVIDIARepo is the distribution part of NVIDIA's CUDA repository path
	// (developer.download.nvidia.com/compute/cuda/repos/DISTRO/ARCH/), with
	// %s for the major release the image reports in /etc/os-release.
	NVIDIARepo string
	// Ignition is set when the base runs Ignition at first boot, so that an
	// appliance can be installed from it with an Ignition config.
	Ignition bool
	// Source says where the facts come from.
	Source string
}

// The known bases. Fedora's kernel.spec builds aarch64 with 4 KB pages only
// (with_arm64_64k 0); CentOS Stream 9 and 10 ship kernel-64k. NVIDIA
// publishes CUDA repositories per distribution release and architecture
// (x86_64, and sbsa for Arm servers).
var osBases = []OSBase{
	{
		Repository: "quay.io/fedora/fedora-coreos", Family: "fedora-coreos",
		Arm64PageSize: 4096, NVIDIARepo: "fedora%s", Ignition: true,
		Source: "Fedora kernel.spec (with_arm64_64k 0); NVIDIA CUDA repository layout repos/fedoraNN/ARCH",
	},
	{
		Repository: "quay.io/centos-bootc/centos-bootc", Family: "centos-bootc",
		Arm64PageSize: 4096, Kernel64K: "kernel-64k", NVIDIARepo: "rhel%s",
		Source: "CentOS Stream kernel-64k package; containers/ai-lab-recipes training/nvidia-bootc (repos/rhelNN/sbsa)",
	},
}

// LookupOSBase returns the base family of an image reference
// (REPOSITORY[:TAG][@DIGEST]).
func LookupOSBase(ref string) (OSBase, bool) {
	repo := Repository(ref)
	for _, b := range osBases {
		if b.Repository == repo {
			return b, true
		}
	}
	return OSBase{}, false
}

// OSBaseRepositories lists the known base repositories, sorted.
func OSBaseRepositories() []string {
	var out []string
	for _, b := range osBases {
		out = append(out, b.Repository)
	}
	slices.Sort(out)
	return out
}

// Repository strips the tag and digest from an image reference.
func Repository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

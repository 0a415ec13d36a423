package spec

import "github.com/hashicorp/hcl/v2"

// NVIDIA kernel module flavours as an os block names them. "lts" is the
// proprietary long-term branch as some derived images (ublue-os ucore's
// -nvidia-lts) ship it: proprietary like "proprietary".
const (
	FlavourOpen        = "open"
	FlavourProprietary = "proprietary"
	FlavourLTS         = "lts"
)

// OS is the host operating system image the appliance runs on: a bootable
// container base plus the GPU driver, the container toolkit and the packages
// the blueprint's blocks need. The image is built once per driver and
// package set (`sovereign os build`) and pinned in the lock file.
type OS struct {
	// Base is the bootable base image, a tag pinned by the lock file or an
	// inline digest.
	Base Image
	// Driver is the NVIDIA driver, when the appliance has a GPU.
	Driver NVIDIADriver
	// Packages are the extra packages the blueprint asks for by name, in
	// the order written; each keeps its range for diagnostics.
	Packages []Package
	// KernelArguments are added to the kernel command line of the image.
	KernelArguments []string

	DeclRange            hcl.Range
	KernelArgumentsRange hcl.Range
}

// NVIDIADriver is the driver the OS image installs: a branch ("580") or an
// exact version ("580.126.20"), and the kernel module flavour.
type NVIDIADriver struct {
	// Version is what the blueprint wrote: a branch or an exact version.
	Version string
	// Branch is the version's first component (580 for 580.126.20).
	Branch  int
	Flavour string

	VersionRange hcl.Range
	FlavourRange hcl.Range
}

// Exact reports whether the driver is pinned to one release rather than to
// the newest of a branch.
func (d NVIDIADriver) Exact() bool {
	for _, c := range d.Version {
		if c == '.' {
			return true
		}
	}
	return false
}

// Package is one OS package name as the base's package tool spells it.
type Package struct {
	Name  string
	Range hcl.Range
}

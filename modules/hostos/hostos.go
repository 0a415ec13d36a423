// Package hostos compiles the os block into the host OS image: a bootable
// container image derived from a pinned base that carries what the rest of
// the appliance assumes of its host — the NVIDIA driver built for the
// image's own kernel, the container toolkit and its CDI refresh, and the
// packages other blocks need (NUT for a ups, ModemManager for a gsm uplink,
// skopeo for an offline image bundle). It renders the image as a
// Containerfile that an existing builder (buildah, podman build) builds;
// nothing here builds images itself.
package hostos

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// Options are the build flags that change what the host OS must carry.
type Options struct {
	// ImageBundle is set when the appliance loads its images from an
	// offline bundle (build --image-bundle), which needs skopeo.
	ImageBundle bool
}

// Package is one package of the image and why it is there.
type Package struct {
	Name string `json:"name"`
	// Why names the block or setting that needs it.
	Why    string    `json:"why"`
	Origin hcl.Range `json:"-"`
}

// Image is the host OS image as typed data: everything the Containerfile
// and the lock file's OS entry say, decided once here.
type Image struct {
	Appliance string `json:"appliance"`
	Hardware  string `json:"hardware"`
	Platform  string `json:"platform"`
	// Base is the base as pinned: REPOSITORY@sha256:….
	Base    string `json:"base"`
	BaseTag string `json:"base_tag,omitempty"`
	Family  string `json:"family"`
	// NVIDIARepo is the distribution part of NVIDIA's repository path,
	// with %s for the release major version.
	NVIDIARepo string `json:"nvidia_repository,omitempty"`
	// Kernel64K replaces the kernel with its 64 KB-page build (aarch64).
	Kernel64K string `json:"kernel_64k,omitempty"`
	// Driver is the NVIDIA driver branch or release; "" without GPUs.
	Driver        string    `json:"driver,omitempty"`
	DriverFlavour string    `json:"driver_flavour,omitempty"`
	Packages      []Package `json:"packages"`
	KernelArgs    []string  `json:"kernel_arguments,omitempty"`

	Origin hcl.Range `json:"-"`
}

// Packages needed by the NVIDIA driver path: the container toolkit makes
// the CDI spec engines use, dkms builds the open modules for the image's
// kernel (NVIDIA's RPM repositories ship them as DKMS packages).
const (
	ToolkitPackage = "nvidia-container-toolkit"
	DKMSPackage    = "dkms"
)

// Describe decides the host OS image of bp, with base already pinned
// (REPOSITORY@sha256:…). It returns nil when bp has no os block.
func Describe(bp *spec.Blueprint, base string, opt Options) *Image {
	o := bp.OS
	if o == nil || bp.Appliance == nil {
		return nil
	}
	hw := bp.Appliance.Hardware
	fam, _ := catalog.LookupOSBase(o.Base.Ref)
	img := &Image{
		Appliance: bp.Appliance.Name, Hardware: hw.Name, Platform: hw.Platform(),
		Base: base, BaseTag: tagOf(o.Base.Ref), Family: fam.Family, NVIDIARepo: fam.NVIDIARepo,
		Driver: o.Driver.Version, DriverFlavour: o.Driver.Flavour,
		KernelArgs: slices.Clone(o.KernelArguments), Origin: o.DeclRange,
	}
	if hw.Arch == "arm64" && hw.PageSizeBytes > fam.Arm64PageSize && fam.Kernel64K != "" {
		img.Kernel64K = fam.Kernel64K
	}
	if o.Driver.Version == "" {
		img.DriverFlavour = ""
	}
	img.Packages = packages(bp, opt)
	return img
}

// packages is every package the image installs besides the driver itself:
// each block's needs, then the blueprint's own, sorted and unique (the
// first reason wins).
func packages(bp *spec.Blueprint, opt Options) []Package {
	var need []Package
	add := func(why string, at hcl.Range, names ...string) {
		for _, n := range names {
			need = append(need, Package{Name: n, Why: why, Origin: at})
		}
	}
	if bp.OS.Driver.Version != "" {
		add("the NVIDIA driver: engines reach the GPU through CDI", bp.OS.Driver.VersionRange, ToolkitPackage, DKMSPackage)
	}
	if u := bp.UPS; u != nil {
		add("ups "+u.Name+": NUT's driver, upsd and upsmon", u.DeclRange, "nut", "nut-client")
	}
	if w := bp.WAN; w != nil {
		for _, up := range w.Uplinks {
			if up.Type == "gsm" {
				add("wan: the gsm uplink "+up.Name, up.DeclRange, "ModemManager", "NetworkManager-wwan")
			}
		}
	}
	if f := bp.Fleet; f != nil {
		add("fleet "+f.Fleet.Name+": the private link's firewall", f.Fleet.Link.DeclRange, "nftables")
	}
	if opt.ImageBundle {
		add("--image-bundle: the first-boot load of the offline bundle", bp.Appliance.DeclRange, "skopeo")
	}
	for _, p := range bp.OS.Packages {
		add("os packages", p.Range, p.Name)
	}
	slices.SortStableFunc(need, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(need, func(a, b Package) bool { return a.Name == b.Name })
}

// PackageNames is the image's package names, sorted.
func (img *Image) PackageNames() []string {
	out := make([]string, len(img.Packages))
	for i, p := range img.Packages {
		out[i] = p.Name
	}
	return out
}

func tagOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[i+1:]
	}
	return ""
}

package catalog

import (
	"errors"
	"fmt"
)

// Hardware is one machine sovereign can provision: its GPUs, their memory
// and bandwidth, the host's CPU memory, and its power draw.
//
// Memory and bandwidth are decimal (252 GB = 252e9 B), as vendors state
// them. The hcl tags are the attribute names in data/hardware.hcl.
type Hardware struct {
	Name        string `hcl:"name,label"`
	Description string `hcl:"description"`
	// Arch is the host CPU architecture in GOARCH spelling: "arm64" or "amd64".
	Arch string `hcl:"arch"`
	GPUs int    `hcl:"gpus"`
	// GPUMemoryBytes and GPUBandwidthBytesPerS are per GPU.
	GPUMemoryBytes        int64   `hcl:"gpu_memory_bytes"`
	GPUBandwidthBytesPerS float64 `hcl:"gpu_bandwidth_bytes_per_s"`
	// CPUMemoryBytes and CPUBandwidthBytesPerS are 0 when unknown, as for a
	// cloud GPU whose host varies by instance.
	CPUMemoryBytes        int64   `hcl:"cpu_memory_bytes,optional"`
	CPUBandwidthBytesPerS float64 `hcl:"cpu_bandwidth_bytes_per_s,optional"`
	TDPWatts              int     `hcl:"tdp_watts"`
	// Source says where the figures come from and which are unverified.
	Source string `hcl:"source"`
}

// Platform is the OCI platform of the host, e.g. "linux/arm64": the one
// every image the appliance runs must have a variant for.
func (h Hardware) Platform() string { return "linux/" + h.Arch }

func (h Hardware) validate() error {
	var errs []error
	if h.Arch != "arm64" && h.Arch != "amd64" {
		errs = append(errs, fmt.Errorf("arch %q is not arm64 or amd64", h.Arch))
	}
	if h.GPUs < 1 {
		errs = append(errs, errors.New("gpus must be at least 1"))
	}
	if h.GPUMemoryBytes <= 0 || h.GPUBandwidthBytesPerS <= 0 {
		errs = append(errs, errors.New("gpu_memory_bytes and gpu_bandwidth_bytes_per_s must be positive"))
	}
	if h.CPUMemoryBytes < 0 || h.CPUBandwidthBytesPerS < 0 {
		errs = append(errs, errors.New("cpu_memory_bytes and cpu_bandwidth_bytes_per_s must not be negative"))
	}
	if h.TDPWatts <= 0 {
		errs = append(errs, errors.New("tdp_watts must be positive"))
	}
	if h.Source == "" {
		errs = append(errs, errors.New("source must say where the figures come from"))
	}
	return errors.Join(errs...)
}

package catalog

import (
	"errors"
	"fmt"
)

// Hardware is one machine sovereign can provision: its GPUs, their memory,
// bandwidth and compute, the host's CPU memory, and its power draw.
//
// Figures are per GPU and in bytes. The hcl tags are the attribute names
// in data/hardware.hcl.
type Hardware struct {
	Name        string `hcl:"name,label"`
	Description string `hcl:"description"`
	// Arch is the host CPU architecture in GOARCH spelling: "arm64" or "amd64".
	Arch string `hcl:"arch"`
	GPUs int    `hcl:"gpus"`
	// GPUMemoryBytes is the GPU's total memory as CUDA reports it
	// (torch.cuda.mem_get_info), the figure vLLM multiplies by
	// gpu_memory_utilization. Where it was measured the catalog gives it;
	// otherwise it is GPUMemoryNominalBytes converted by the rule
	// CUDABytesFromNominal, and GPUMemoryMeasured is false.
	GPUMemoryBytes    int64 `hcl:"gpu_memory_cuda_bytes,optional"`
	GPUMemoryMeasured bool
	// GPUMemoryNominalBytes is the vendor's "GB" figure read as decimal
	// (252 GB = 252e9 B).
	GPUMemoryNominalBytes int64 `hcl:"gpu_memory_nominal_bytes"`
	// UnifiedMemory: the GPU's memory is the host's own (LPDDR5X shared
	// with the CPU, as on the GB10), not HBM; the HBM conversion rule does
	// not apply and GPUMemoryBytes is the nominal figure.
	UnifiedMemory bool `hcl:"unified_memory,optional"`
	// GPUBandwidthBytesPerS is the datasheet's HBM bandwidth: a ceiling.
	// GPUBandwidthMeasuredBytesPerS is what streaming reads achieved where
	// someone measured it; 0 otherwise.
	GPUBandwidthBytesPerS         float64 `hcl:"gpu_bandwidth_bytes_per_s"`
	GPUBandwidthMeasuredBytesPerS float64 `hcl:"gpu_bandwidth_measured_bytes_per_s,optional"`
	// GPUDenseBF16FLOPS and GPUDenseFP8FLOPS are the tensor cores' dense
	// (no sparsity) throughput in FLOP/s; 0 when unknown.
	GPUDenseBF16FLOPS float64 `hcl:"gpu_dense_bf16_flops,optional"`
	GPUDenseFP8FLOPS  float64 `hcl:"gpu_dense_fp8_flops,optional"`
	// CPUMemoryBytes and CPUBandwidthBytesPerS are 0 when unknown, as for a
	// cloud GPU whose host varies by instance.
	CPUMemoryBytes        int64   `hcl:"cpu_memory_bytes,optional"`
	CPUBandwidthBytesPerS float64 `hcl:"cpu_bandwidth_bytes_per_s,optional"`
	TDPWatts              int     `hcl:"tdp_watts"`
	// GPUArchitecture is the GPU generation in NVIDIA's naming ("blackwell",
	// "hopper"); "" when not recorded.
	GPUArchitecture string `hcl:"gpu_architecture,optional"`
	// OpenKernelModulesOnly is set for GPUs that NVIDIA's proprietary kernel
	// modules cannot initialise (Grace Hopper, Blackwell): the host OS must
	// carry the open flavour.
	OpenKernelModulesOnly bool `hcl:"open_kernel_modules_only,optional"`
	// MinDriverBranch is the oldest NVIDIA driver branch (580 for 580.x)
	// the machine is supported with; 0: no minimum recorded.
	MinDriverBranch int `hcl:"min_driver_branch,optional"`
	// PageSizeBytes is the kernel page size the vendor configures the host
	// with (65536 on a DGX Station); 0: any.
	PageSizeBytes int `hcl:"page_size_bytes,optional"`
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
	if h.GPUMemoryNominalBytes <= 0 || h.GPUMemoryBytes < 0 || h.GPUBandwidthBytesPerS <= 0 {
		errs = append(errs, errors.New("gpu_memory_nominal_bytes and gpu_bandwidth_bytes_per_s must be positive"))
	}
	if h.GPUBandwidthMeasuredBytesPerS < 0 || h.GPUBandwidthMeasuredBytesPerS > h.GPUBandwidthBytesPerS {
		errs = append(errs, errors.New("gpu_bandwidth_measured_bytes_per_s must be between 0 and the datasheet's gpu_bandwidth_bytes_per_s"))
	}
	if h.GPUDenseBF16FLOPS < 0 || h.GPUDenseFP8FLOPS < 0 {
		errs = append(errs, errors.New("gpu_dense_bf16_flops and gpu_dense_fp8_flops must not be negative"))
	}
	if h.CPUMemoryBytes < 0 || h.CPUBandwidthBytesPerS < 0 {
		errs = append(errs, errors.New("cpu_memory_bytes and cpu_bandwidth_bytes_per_s must not be negative"))
	}
	if h.TDPWatts <= 0 {
		errs = append(errs, errors.New("tdp_watts must be positive"))
	}
	if h.MinDriverBranch < 0 || (h.PageSizeBytes != 0 && h.PageSizeBytes != 4096 && h.PageSizeBytes != 16384 && h.PageSizeBytes != 65536) {
		errs = append(errs, errors.New("min_driver_branch must not be negative and page_size_bytes must be 4096, 16384 or 65536"))
	}
	if h.Source == "" {
		errs = append(errs, errors.New("source must say where the figures come from"))
	}
	return errors.Join(errs...)
}

// The measurement behind CUDABytesFromNominal: an H200 sold as "141 GB"
// reports 150,109,880,320 B of total memory to CUDA
// (torch.cuda.mem_get_info, 2026-12-04; nvidia-smi shows 143,771 MiB total
// of which 616 MiB are reserved).
const (
	measuredCUDABytes    = 150_109_880_320
	measuredNominalGB    = 141
	measuredAchievedBps  = 4.17e12 // streaming reads on the same H200
	measuredDatasheetBps = 4.8e12
)

// CUDABytesFromNominal converts a vendor's HBM "GB" figure to the total
// CUDA would report, for GPUs nobody here has measured. NVIDIA's HBM "GB"
// behave like GiB of physical memory less a driver reserve: the measured
// H200 reports 0.9915 × 141 GiB. The rule scales the same ratio. It is an
// estimate: for an H100 80GB it gives 85.17e9 B, where nvidia-smi's
// published 81,559 MiB less the H200's 616 MiB reserve would be 84.87e9.
func CUDABytesFromNominal(nominal int64) int64 {
	ratio := float64(measuredCUDABytes) / (measuredNominalGB << 30)
	return int64(float64(nominal) / 1e9 * (1 << 30) * ratio)
}

// AchievableBandwidthFraction is the share of the datasheet bandwidth that
// streaming reads achieved on the measured H200 (4.17 of 4.8 TB/s); the
// planner assumes it where a GPU's own achieved bandwidth is unmeasured.
const AchievableBandwidthFraction = measuredAchievedBps / measuredDatasheetBps

// AchievableBandwidth is the HBM bandwidth a decode step can expect: the
// measured figure, or the datasheet's times AchievableBandwidthFraction.
func (h Hardware) AchievableBandwidth() (bytesPerS float64, measured bool) {
	if h.GPUBandwidthMeasuredBytesPerS > 0 {
		return h.GPUBandwidthMeasuredBytesPerS, true
	}
	return h.GPUBandwidthBytesPerS * AchievableBandwidthFraction, false
}

// fill completes an entry read from the catalog: the CUDA-reported memory
// from the nominal figure where it was not measured.
func (h *Hardware) fill() {
	h.GPUMemoryMeasured = h.GPUMemoryBytes > 0
	switch {
	case h.GPUMemoryMeasured:
	case h.UnifiedMemory:
		h.GPUMemoryBytes = h.GPUMemoryNominalBytes
	default:
		h.GPUMemoryBytes = CUDABytesFromNominal(h.GPUMemoryNominalBytes)
	}
}

# sovereign's built-in hardware catalog.
#
# Figures are per GPU. Memory has two figures:
#
#   gpu_memory_nominal_bytes  the vendor's "GB", read as decimal (1 GB = 1e9 B);
#   gpu_memory_cuda_bytes     the total CUDA reports (torch.cuda.mem_get_info),
#                             which is what vLLM multiplies by
#                             gpu_memory_utilization; given only where measured.
#
# Where the CUDA figure is not given, the catalog converts the nominal one by
# the rule in hardware.go (CUDABytesFromNominal: NVIDIA's HBM "GB" behave like
# GiB less a driver reserve, scaled from the one GPU measured) and the plan says
# the figure is unmeasured. Reading "141 GB" as 141e9 B undercounts an H200 by
# 6.5 %, and all of that error lands on the KV cache.
#
# Bandwidth: gpu_bandwidth_bytes_per_s is the datasheet's ceiling;
# gpu_bandwidth_measured_bytes_per_s what streaming reads achieved, where
# measured. Compute: dense tensor-core FLOP/s (without 2:4 sparsity, which
# datasheets print first); 0 or absent when unknown.
#
# Every entry's source says where its figures come from and which are
# unverified. cpu_memory_bytes and cpu_bandwidth_bytes_per_s are 0 when unknown
# (a cloud GPU's host varies by instance).

hardware "dgx-station-gb300" {
  description = "NVIDIA DGX Station GB300: one Grace Blackwell Ultra superchip in a desktop tower"
  arch        = "arm64"
  gpus        = 1

  gpu_memory_nominal_bytes  = 252e9 # HBM3e, 7 of 8 stacks
  gpu_bandwidth_bytes_per_s = 7.1e12
  gpu_dense_bf16_flops      = 2.25e15
  gpu_dense_fp8_flops       = 4.5e15
  cpu_memory_bytes          = 496e9 # LPDDR5X, coherent with the GPU over NVLink-C2C
  cpu_bandwidth_bytes_per_s = 396e9
  tdp_watts                 = 1600

  # The host OS: Blackwell initialises only with NVIDIA's open kernel modules;
  # NVIDIA validates the GB300 with driver 580.126.20 (DGX OS 7.4) and
  # configures DGX Station Linux with 64 KB pages ("4 KB not supported at this
  # stage": docs.nvidia.com/dgx/dgx-station-development-guide, page size).
  gpu_architecture         = "blackwell"
  open_kernel_modules_only = true
  min_driver_branch        = 580
  page_size_bytes          = 65536

  source = "252 GB HBM3e at 7.1 TB/s, 496 GB LPDDR5X and 1600 W from secondary sources (Supermicro/ServeTheHome-derived reports, NVIDIA GTC coverage); the CUDA-reported memory is unmeasured and unverified: converted from 252 GB as if it were, like the H200's 141 GB, a binary figure; the 396 GB/s CPU bandwidth is unverified (GTC-2025 coverage only); compute unverified: NVIDIA's DGX B300 figure of 72 PFLOPS FP8 for 8 GPUs is with sparsity, so 4.5 PFLOPS dense FP8 and half that for BF16 per B300 GPU, and the DGX Station's GPU may be clocked lower"
}

hardware "h100-80gb-sxm" {
  description = "One NVIDIA H100 80GB SXM5 (HBM3), as rented for the cloud audition"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_nominal_bytes  = 80e9
  gpu_bandwidth_bytes_per_s = 3.35e12
  gpu_dense_bf16_flops      = 989e12
  gpu_dense_fp8_flops       = 1979e12
  tdp_watts                 = 700

  gpu_architecture = "hopper"

  source = "80 GB at 3.35 TB/s and 1,979/3,958 TFLOPS BF16/FP8 with sparsity (half that dense) from NVIDIA's H100 datasheet as quoted by secondary sources; the CUDA-reported memory is unmeasured: converted from 80 GB (nvidia-smi's widely published total is 81,559 MiB, which the rule matches within 0.4 %); 700 W is the GPU's TDP from public spec listings (unverified against NVIDIA's datasheet) and leaves out the host; host memory varies by instance (0 = unknown)"
}

hardware "h100-80gb-pcie" {
  description = "One NVIDIA H100 80GB PCIe card (HBM2e)"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_nominal_bytes  = 80e9
  gpu_bandwidth_bytes_per_s = 2.0e12
  gpu_dense_bf16_flops      = 756e12
  gpu_dense_fp8_flops       = 1513e12
  tdp_watts                 = 350

  gpu_architecture = "hopper"

  source = "unverified: the 2.0 TB/s bandwidth and the 1,513/3,026 TFLOPS BF16/FP8 with sparsity (half that dense) are from public spec listings, no primary datasheet read; the CUDA-reported memory is unmeasured: converted from 80 GB; 350 W from public spec listings; the GPU's TDP only, not the host; host memory varies by instance (0 = unknown)"
}

hardware "h200-141gb" {
  description = "One NVIDIA H200 141GB SXM (HBM3e)"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_nominal_bytes           = 141e9
  gpu_memory_cuda_bytes              = 150109880320
  gpu_bandwidth_bytes_per_s          = 4.8e12
  gpu_bandwidth_measured_bytes_per_s = 4.17e12
  gpu_dense_bf16_flops               = 989e12
  gpu_dense_fp8_flops                = 1979e12
  tdp_watts                          = 700

  gpu_architecture = "hopper"

  source = "measured on a lent H200 SXM on 2026-12-04 (132 SMs, compute capability 9.0, driver 580.159.04): CUDA total memory 150,109,880,320 B from torch.cuda.mem_get_info (nvidia-smi: 143,771 MiB total, 616 MiB reserved), streaming reads at 4.17 TB/s (a copy, read plus write, at 4.27 TB/s), 87-89 % of the datasheet's 4.8 TB/s; 141 GB, 4.8 TB/s and the H100's compute (1,979/3,958 TFLOPS BF16/FP8 with sparsity, half that dense) from secondary sources; 700 W (SXM; the NVL card is 600 W) from public spec listings, unverified against NVIDIA's datasheet; the GPU's TDP only, not the host; host memory varies by instance (0 = unknown)"
}

hardware "gb10" {
  description = "NVIDIA DGX Spark: GB10 Grace Blackwell superchip, 128 GB of LPDDR5X shared by CPU and GPU"
  arch        = "arm64"
  gpus        = 1

  # Unified memory: the GPU's 128 GB is also the operating system's, so leave
  # room for it with gpu_memory_utilization; there is no separate CPU KV tier.
  gpu_memory_nominal_bytes  = 128e9
  unified_memory            = true
  gpu_bandwidth_bytes_per_s = 273e9
  tdp_watts                 = 140

  # Grace Blackwell: the open kernel modules only (a proprietary 580 build
  # fails on GB10 with "RmInitAdapter failed"); DGX OS for the Spark ships the
  # 580 branch (unverified beyond release notes).
  gpu_architecture         = "blackwell"
  open_kernel_modules_only = true
  min_driver_branch        = 580

  source = "unverified, secondary sources only: 128 GB and 140 W from huggingface.co/hardware/gb10, 273 GB/s from huggingface.co/blog/exolabs/the-dgx-spark-handbook; NVIDIA's own spec page was not read; the memory is the system's LPDDR5X, not HBM, so the HBM conversion does not apply and what CUDA reports of it is unmeasured; compute unknown"
}

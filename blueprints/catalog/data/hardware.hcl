# sovereign's built-in hardware catalog.
#
# Figures are per GPU and decimal, as vendors print them: 1 GB = 1e9 B and
# 1 TB/s = 1e12 B/s. HBM is built from binary-sized stacks, so reading the
# marketed "GB" as decimal undercounts what the driver reports by up to ~7%;
# that keeps plans on the safe side.
#
# Every entry's source says where its figures come from. "Unverified" marks
# the figures DOMAIN.md §11 lists as NV, or that only a spec listing gives.
# cpu_memory_bytes and cpu_bandwidth_bytes_per_s are 0 when unknown (a cloud
# GPU's host varies by instance).

hardware "dgx-station-gb300" {
  description = "NVIDIA DGX Station GB300: one Grace Blackwell Ultra superchip in a desktop tower"
  arch        = "arm64"
  gpus        = 1

  gpu_memory_bytes          = 252e9  # HBM3e, 7 of 8 stacks
  gpu_bandwidth_bytes_per_s = 7.1e12
  cpu_memory_bytes          = 496e9  # LPDDR5X, coherent with the GPU over NVLink-C2C
  cpu_bandwidth_bytes_per_s = 396e9
  tdp_watts                 = 1600

  source = "DOMAIN.md §11 and seed §1.1: 252 GB HBM3e at 7.1 TB/s, 496 GB LPDDR5X and 1600 W from secondary sources (Supermicro/ServeTheHome-derived reports, NVIDIA GTC coverage); the 396 GB/s CPU bandwidth is unverified (GTC-2025 coverage only, not confirmed for the shipping unit)"
}

hardware "h100-80gb-sxm" {
  description = "One NVIDIA H100 80GB SXM5 (HBM3), as rented for the cloud audition"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_bytes          = 80e9
  gpu_bandwidth_bytes_per_s = 3.35e12
  tdp_watts                 = 700

  source = "DOMAIN.md §11: 80 GB at 3.35 TB/s from secondary sources; 700 W is the GPU's TDP from public spec listings (unverified against NVIDIA's datasheet) and leaves out the host; host memory varies by instance (0 = unknown)"
}

hardware "h100-80gb-pcie" {
  description = "One NVIDIA H100 80GB PCIe card (HBM2e)"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_bytes          = 80e9
  gpu_bandwidth_bytes_per_s = 2.0e12
  tdp_watts                 = 350

  source = "unverified: DOMAIN.md §11 marks the 2.0 TB/s bandwidth NV (no primary datasheet read); 350 W from public spec listings; the GPU's TDP only, not the host; host memory varies by instance (0 = unknown)"
}

hardware "h200-141gb" {
  description = "One NVIDIA H200 141GB SXM (HBM3e)"
  arch        = "amd64"
  gpus        = 1

  gpu_memory_bytes          = 141e9
  gpu_bandwidth_bytes_per_s = 4.8e12
  tdp_watts                 = 700

  source = "DOMAIN.md §11: 141 GB at 4.8 TB/s from secondary sources; 700 W (SXM; the NVL card is 600 W) from public spec listings, unverified against NVIDIA's datasheet; the GPU's TDP only, not the host; host memory varies by instance (0 = unknown)"
}

hardware "gb10" {
  description = "NVIDIA DGX Spark: GB10 Grace Blackwell superchip, 128 GB of LPDDR5X shared by CPU and GPU"
  arch        = "arm64"
  gpus        = 1

  # Unified memory: the GPU's 128 GB is also the operating system's, so leave
  # room for it with gpu_memory_utilization; there is no separate CPU KV tier.
  gpu_memory_bytes          = 128e9
  gpu_bandwidth_bytes_per_s = 273e9
  tdp_watts                 = 140

  source = "unverified, secondary sources only: 128 GB and 140 W from huggingface.co/hardware/gb10, 273 GB/s from huggingface.co/blog/exolabs/the-dgx-spark-handbook; NVIDIA's own spec page was not read and DOMAIN.md does not cover the GB10"
}

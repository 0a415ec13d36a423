# The cloud audition: one rented H100 80GB serving
# Qwen3-30B-A3B with vLLM, to test the collective's real workloads (tool
# calls, documents, code) against the same stack before buying hardware.
#
#   sovereign build blueprints/cloud-audition-h100.hcl -o out-audition
#
# ignition.json is over EC2's user-data limit: serve it where only the
# instance can fetch it (an S3 object, a presigned https URL) and paste the
# pointer config as the instance's user-data when launching Fedora CoreOS
# (x86_64):
#
#   sovereign build blueprints/cloud-audition-h100.hcl -o out-audition \
#     --ignition-url s3://BUCKET/audition/ignition.json

variable "hostname" {
  description = "The audition host's name."
  type        = string
  default     = "sovereign-audition"
}

variable "domain" {
  description = "The name members reach the appliance by (TLS certificate, sign-in callback)."
  type        = string
  default     = "sovereign-audition.example.org"
}

variable "admin_ssh_key_file" {
  description = "Public SSH key of the first admin, relative to this file."
  type        = string
  default     = "keys/admin.pub"
}

appliance "audition" {
  hardware = "h100-80gb-sxm"
  hostname = var.hostname
  timezone = "Australia/Sydney"
  # Rented on EC2: its 16 KiB user-data limit is less than the config, so
  # build with --ignition-url and paste out-audition/pointer.ign instead.
  cloud = "aws"

  admin "ops" {
    ssh_authorized_keys = [file(var.admin_ssh_key_file)]
  }
}

model "main" {
  catalog = "qwen3-30b-a3b"
  # Qwen's own FP8 checkpoint: ~31 GB, leaving room for KV on 80 GB.
  weights = "fp8"
  source  = "hf://Qwen/Qwen3-30B-A3B-Instruct-2507-FP8"
}

# The engine options and the gateway are the collective's service, shared
# with the other reference blueprint (collective/service.hcl), so that the
# audition and the appliance run the same thing.
module "service" {
  source                 = "./collective"
  domain                 = var.domain
  gpu_memory_utilization = 0.90
  min_sessions           = 5
  # A few testers, not the whole collective.
  requests_per_minute = 300
}

# The host OS image (`sovereign os build`): Fedora CoreOS with NVIDIA's open
# kernel modules of the 580 branch and the container toolkit, for amd64.
os {
  base          = "quay.io/fedora/fedora-coreos:42.20250721.3.0"
  nvidia_driver = "580.126.20"
}

# Everything the reference blueprints leave out, in one folder blueprint:
# several files, a data disk, two admins, two engines, a secret API key,
# arguments that need quoting. Files ending in .lock.hcl and .vars.hcl are
# not part of the blueprint.

variable "site" {
  type    = string
  default = "kitchen"
  validation {
    condition     = length(var.site) <= 20
    error_message = "The site name is at most 20 characters."
  }
}

variable "api_key" {
  type      = string
  sensitive = true
  default   = "unused-default"
}

locals {
  hostname = format("%s-%s", var.site, local.role)
  role     = "sink"
}

appliance "sink" {
  hardware = "dgx-station-gb300"
  hostname = local.hostname
  timezone = "Europe/Berlin"

  admin "ops" {
    # Two keys in one file: a desktop and a laptop.
    ssh_authorized_keys = [file("keys/ops.pub")]
  }
  admin "second" {
    ssh_authorized_keys = [trimspace(file("keys/second.pub"))]
    groups              = ["wheel"]
  }

  storage {
    device     = "/dev/disk/by-id/nvme-EXAMPLE_DATA_DISK"
    filesystem = "xfs"
    label      = "sovdata"
    state      = "/var/lib/sovereign"
    models     = "/var/lib/sovereign/weights"
  }
}

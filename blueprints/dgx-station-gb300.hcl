# A DGX Station GB300 serving Qwen3-235B-A22B (AWQ 4-bit) with vLLM to a
# collective of 10–50 people: the usual hand-written vLLM launch command as a
# blueprint, except that vLLM picks its fast AWQ kernel itself.
#
#   sovereign build blueprints/dgx-station-gb300.hcl -o out

variable "hostname" {
  description = "The appliance's host name."
  type        = string
  default     = "sovereign"
}

variable "domain" {
  description = "The name members reach the appliance by (TLS certificate, sign-in callback)."
  type        = string
  default     = "sovereign.example.org"
}

variable "admin_ssh_key_file" {
  description = "Public SSH key of the first admin, relative to this file."
  type        = string
  default     = "keys/admin.pub"
}

appliance "coop" {
  hardware = "dgx-station-gb300" # arm64 Grace + 252 GB HBM3e Blackwell Ultra
  hostname = var.hostname
  timezone = "Australia/Sydney"

  admin "ops" {
    ssh_authorized_keys = [file(var.admin_ssh_key_file)]
  }

  storage {
    state  = "/var/lib/sovereign"
    models = "/var/lib/sovereign/models"
  }

  # 1600 W around the clock at an Australian retail tariff.
  power {
    tariff_per_kwh = 0.30
    currency       = "AUD"
  }
}

model "main" {
  catalog = "qwen3-235b-a22b"
  # ~124 GB of weights leaves ~100 GB of HBM for the KV cache.
  weights = "awq-int4"
  source  = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
}

# The engine options and the gateway are the collective's service, shared
# with the other reference blueprint (collective/service.hcl), so that the
# audition and the appliance run the same thing.
module "service" {
  source = "./collective"
  domain = var.domain
  # No quantization: vLLM reads the AWQ checkpoint's own config and runs it
  # with its Marlin kernel (awq_marlin). Naming "awq" would force its plain
  # AWQ kernel, which vLLM itself warns is slower than unquantized weights.
  gpu_memory_utilization = 0.95
  # 5–15 of the collective's members are active at once: the
  # build fails if the KV cache cannot hold 15 full-length conversations.
  min_sessions = 15
}

# Australian broadband drops several times a day: the NBN on
# the first ethernet port carries the traffic, a 5G modem takes over within
# 15 seconds when the NBN is up but dead upstream, and hands back when it
# recovers. NetworkManager's own check (every 30 s) is too slow for 15 s,
# so an active probe pings through each uplink.
wan {
  failover_time = "15s"

  uplink "nbn" {
    interface = "enp1s0"
    priority  = 1
  }

  uplink "5g" {
    type     = "gsm"
    apn      = "telstra.internet"
    priority = 2
  }

  check {
    interval = "30s"
    timeout  = "10s"
    targets  = ["1.1.1.1", "9.9.9.9"]
  }
}

# A 3 kVA / 2700 W USB UPS under the 1600 W machine. On battery
# for a minute, the gateway drains; engines stop once idle (two minutes at
# most); five minutes in, the host powers off — well inside the 9 minutes
# the UPS's runtime chart gives at 1600 W.
ups "main" {
  driver  = "usbhid-ups"
  watts   = 2700
  runtime = "9m"

  on_battery {
    drain_after         = "60s"
    stop_engines_within = "120s"
    shutdown_after      = "300s"
  }
}

# Prometheus, Grafana and Alertmanager on the host, on loopback: GPU
# temperature and power, KV cache, queues, latency, the UPS and the active
# uplink; alerts go to the collective's operations webhook. Alice, signed
# in with her browser, sees the dashboards at https://DOMAIN/grafana/.
metrics {
  retention_days  = 30
  scrape_interval = "15s"
  admins          = ["alice"]

  receiver "ops" {
    webhook = "https://hooks.example.org/sovereign"
  }
}

# The host OS image: stock Fedora CoreOS has no NVIDIA driver, so the host
# runs an image derived from it (`sovereign os build`, once per driver and
# package set) with the open kernel modules the Blackwell GPU needs, of the
# release NVIDIA validates the GB300 with, and the container toolkit; NUT
# and ModemManager come with the ups and wan blocks above. Fedora's aarch64
# kernel has 4 KB pages where NVIDIA configures the GB300 with 64 KB, so
# the build warns: switch the base to CentOS Stream bootc (built with
# kernel-64k) once its digest is pinned.
os {
  base          = "quay.io/fedora/fedora-coreos:42.20250721.3.0"
  nvidia_driver = "580.126.20"
}

# Two DGX Station GB300 behind one gateway: the collective outgrew one
# machine and bought a second. Both serve Qwen3-235B-A22B as "coop"; the
# gateway on "station" spreads the members over both engines, each member
# sticking to one of them (so its prefix cache is reused), and moves them
# to the other when one goes down. The hosts talk over a WireGuard link;
# the engine on "annex" listens only there and answers only the key the
# gateway sends.
#
#   sovereign build blueprints/fleet-two-gb300.hcl -o out
#
# writes out/station/ and out/annex/, each a complete appliance output.

variable "domain" {
  description = "The name members reach the gateway by (TLS certificate, sign-in callback)."
  type        = string
  default     = "sovereign.example.org"
}

variable "admin_ssh_key_file" {
  description = "Public SSH key of the first admin, relative to this file."
  type        = string
  default     = "../../../../blueprints/keys/admin.pub"
}

fleet "coop" {
  gateway_host = "station"
  router       = "llm-d"

  # The hosts' private addresses; WireGuard listens on UDP 51820.
  link {
    network = "10.77.0.0/24"
  }
}

# The engine options and the gateway, shared with the single-machine
# blueprints: the engine runs on every host, the gateway on the gateway
# host only.
module "service" {
  source                 = "../../../../blueprints/collective"
  domain                 = var.domain
  gpu_memory_utilization = 0.95
  min_sessions           = 15
}

host "station" {
  address     = "10.77.0.1"
  endpoint    = "station.coop.example.org"
  private_key = secret_file("../../../../blueprints/link/station.key")

  appliance "coop-station" {
    hardware = "dgx-station-gb300"
    hostname = "station"
    timezone = "Australia/Sydney"

    admin "ops" {
      ssh_authorized_keys = [file(var.admin_ssh_key_file)]
    }
  }

  model "main" {
    catalog = "qwen3-235b-a22b"
    weights = "awq-int4"
    source  = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
  }

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
}

host "annex" {
  address     = "10.77.0.2"
  endpoint    = "annex.coop.example.org"
  private_key = secret_file("../../../../blueprints/link/annex.key")

  appliance "coop-annex" {
    hardware = "dgx-station-gb300"
    hostname = "annex"
    timezone = "Australia/Sydney"

    admin "ops" {
      ssh_authorized_keys = [file(var.admin_ssh_key_file)]
    }
  }

  model "main" {
    catalog = "qwen3-235b-a22b"
    weights = "awq-int4"
    source  = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
  }
}

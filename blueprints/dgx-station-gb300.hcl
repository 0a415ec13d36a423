# A DGX Station GB300 serving Qwen3-235B-A22B (AWQ 4-bit) with vLLM to a
# collective of 10–50 people: the launch command of the compute guide's §5.1
# as a blueprint.
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

  # 1600 W around the clock at an Australian retail tariff (guide §1.3).
  power {
    tariff_per_kwh = 0.30
    currency       = "AUD"
  }
}

model "qwen3-235b" {
  catalog = "qwen3-235b-a22b"
  # ~124 GB of weights leaves ~100 GB of HBM for the KV cache (guide §2.2).
  weights = "awq-int4"
  source  = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
}

engine "vllm" "main" {
  model             = model.qwen3-235b
  served_model_name = "qwen3-235b"
  # v0.14.0 is a CUDA 12.9 build: Blackwell Ultra (GB300) needs CUDA >= 12.9.
  # dgx-station-gb300.lock.hcl pins the tag to its multi-arch index digest
  # (`sovereign lock` checks that the index holds linux/arm64).
  image = "docker.io/vllm/vllm-openai:v0.14.0"
  port  = 8000

  quantization           = "awq"
  tensor_parallel_size   = 1
  max_model_len          = 32768
  enable_prefix_caching  = true
  kv_cache_dtype         = "fp8" # halves KV per token: ~96 KB instead of ~192 KB
  gpu_memory_utilization = 0.95

  # 5–15 of the collective's members are active at once (guide §3.2): the
  # build fails if the KV cache cannot hold 15 full-length conversations.
  min_sessions = 15

  # Agentic tools call functions through the OpenAI tools API.
  tool_call_parser = "hermes"
}

# The appliance's only door to the network: nginx with TLS in front of the
# engine, members signing in through the collective's identity provider
# (oauth2-proxy) or calling with their own API key, each with a rate limit.
# The secrets under gateway/ are EXAMPLES published with sovereign so that
# this blueprint builds offline; `sovereign init` writes fresh ones.
gateway {
  domain        = var.domain
  cookie_secret = secret_file("gateway/cookie.secret")

  tls {
    certificate = file("gateway/tls/cert.pem")
    key         = secret_file("gateway/tls/key.pem")
  }

  oidc {
    issuer        = "https://id.example.org"
    client_id     = "sovereign"
    client_secret = secret_file("gateway/oidc-client.secret")
  }

  # All members together, a backstop behind each member's own limit.
  rate_limit {
    requests_per_minute = 600
  }

  members_file = "gateway/members.hcl"

  route "/v1/" {
    engine = engine.vllm.main
  }
}

# Australian broadband drops several times a day (guide §11.3): the NBN on
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

# A 3 kVA / 2700 W USB UPS under the 1600 W machine (guide §1.3). On battery
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

# The compute guide's §8.1 cloud audition: one rented H100 80GB serving
# Qwen3-30B-A3B with vLLM, to test the collective's real workloads (tool
# calls, documents, code) against the same stack before buying hardware.
#
#   sovereign build blueprints/cloud-audition-h100.hcl -o out-audition
#
# Paste out-audition/ignition.json as the instance's user-data when
# launching Fedora CoreOS (x86_64) on the cloud provider.

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

  admin "ops" {
    ssh_authorized_keys = [file(var.admin_ssh_key_file)]
  }
}

model "qwen3-30b" {
  catalog = "qwen3-30b-a3b"
  # Qwen's own FP8 checkpoint: ~31 GB, leaving room for KV on 80 GB.
  weights = "fp8"
  source  = "hf://Qwen/Qwen3-30B-A3B-Instruct-2507-FP8"
}

engine "vllm" "main" {
  model             = model.qwen3-30b
  served_model_name = "qwen3-30b"
  # The same vLLM release as the GB300 blueprint, so the audition tests the
  # engine the collective will run; the index also holds linux/amd64, and
  # cloud-audition-h100.lock.hcl pins the tag to it.
  image = "docker.io/vllm/vllm-openai:v0.14.0"
  port  = 8000

  max_model_len          = 32768
  enable_prefix_caching  = true
  kv_cache_dtype         = "fp8"
  gpu_memory_utilization = 0.90
  min_sessions           = 5

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
    requests_per_minute = 300
  }

  members_file = "gateway/members.hcl"

  route "/v1/" {
    engine = engine.vllm.main
  }
}

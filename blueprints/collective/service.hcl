# The collective's service: the engine options and the gateway that the cloud
# audition and the DGX Station share, so that the audition tests what will
# run — the same vLLM release, KV cache type, context length,
# tool-call parser, served model name, members and limits. Each machine's
# blueprint declares its own weights as model "main", then calls this module:
#
#   module "service" {
#     source                 = "./collective"
#     domain                 = var.domain
#     gpu_memory_utilization = 0.95
#     min_sessions           = 15
#   }
#
# `sovereign plan AUDITION TARGET` shows both side by side and warns if they
# drift apart anyway.

variable "domain" {
  description = "The name members reach the appliance by (TLS certificate, sign-in callback)."
  type        = string
}

variable "quantization" {
  description = "vLLM's --quantization for the machine's weights; null lets vLLM detect it from the checkpoint."
  type        = string
  default     = null
}

variable "gpu_memory_utilization" {
  description = "The share of GPU memory vLLM may take for weights and KV cache."
  type        = number
}

variable "min_sessions" {
  description = "Full-length conversations the KV cache must hold at once; the build fails below it."
  type        = number
}

variable "requests_per_minute" {
  description = "All members together, a backstop behind each member's own limit."
  type        = number
  default     = 600
}

engine "vllm" "main" {
  model = model.main
  # Members' tools ask for "coop" on the audition and on the appliance alike.
  served_model_name = "coop"
  # v0.14.0 is a CUDA 12.9 build: Blackwell Ultra (GB300) needs CUDA >= 12.9.
  # The lock file beside each blueprint pins the multi-arch index digest,
  # which holds both linux/arm64 (GB300) and linux/amd64 (H100).
  image = "docker.io/vllm/vllm-openai:v0.14.0"
  port  = 8000

  quantization           = var.quantization
  tensor_parallel_size   = 1
  max_model_len          = 32768
  enable_prefix_caching  = true
  kv_cache_dtype         = "fp8" # halves KV per token: ~96 KB instead of ~192 KB for Qwen3-235B
  gpu_memory_utilization = var.gpu_memory_utilization
  min_sessions           = var.min_sessions

  # Agentic tools call functions through the OpenAI tools API.
  tool_call_parser = "hermes"
}

# The appliance's only door to the network: nginx with TLS in front of the
# engine, members signing in through the collective's identity provider
# (oauth2-proxy) or calling with their own API key, each with a rate limit.
# The secrets under gateway/ are EXAMPLES published with sovereign so that
# the reference blueprints build offline; `sovereign init` writes fresh ones.
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

  rate_limit {
    requests_per_minute = var.requests_per_minute
  }

  members_file = "gateway/members.hcl"

  route "/v1/" {
    engine = engine.vllm.main
  }
}

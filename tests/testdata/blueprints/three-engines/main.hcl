# The three engine kinds on one GB300: vLLM for the big model,
# SGLang for multi-turn chat with its host-memory KV tier, NIM for the least
# operations. Their memory fractions add up to less than one GPU.

appliance "three" {
  hardware = "dgx-station-gb300"
  hostname = "three-engines"
  admin "ops" {
    ssh_authorized_keys = [file("keys/ops.pub")]
  }
}

model "qwen3-30b" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

model "r1-32b" {
  catalog = "deepseek-r1-distill-qwen-32b"
  weights = "awq-int4"
}

model "llama-70b" {
  catalog = "llama-3.3-70b"
  weights = "fp8"
}

engine "vllm" "chat" {
  model                  = model.qwen3-30b
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  gpu_memory_utilization = 0.3
  max_model_len          = 32768
  kv_cache_dtype         = "fp8"
  cpu_kv_offload         = "128GiB"
  kv_offload_backend     = "lmcache"
}

engine "sglang" "turns" {
  model               = model.r1-32b
  image               = "docker.io/lmsysorg/sglang:v0.5.9@sha256:e216b7dc4ac1938b599b982233ccf7eb2b11dd1f07fc2e00a7b9841052c553be"
  port                = 30000
  mem_fraction_static = 0.25
  context_length      = 32768
  kv_cache_dtype      = "fp8_e4m3"
  quantization        = "awq_marlin"
  tool_call_parser    = "qwen25"
  reasoning_parser    = "deepseek-r1"
  cpu_kv_offload      = "64GB"
  api_key             = secret_file("sglang.secret")
}

engine "nim" "ops" {
  model = model.llama-70b
  # TEST FIXTURE: no public NIM digest exists; this all-zero digest is not
  # a real image and must never be deployed.
  image                  = "nvcr.io/nim/meta/llama-3.3-70b-instruct:1.13.1@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  port                   = 8003
  gpu_memory_utilization = 0.4
  max_model_len          = 16384
  kv_cache_dtype         = "fp8"
  model_from             = "image"
  model_profile          = "EXAMPLE-profile-id"
  ngc_api_key            = secret_file("ngc.secret")
}

# Monitoring with every kind of receiver and a rule of the blueprint's own:
# the vLLM and SGLang engines are checked against their releases' metric
# names; the NIM engine is not scraped (its names are unknown).
metrics {
  retention_days        = 7
  scrape_interval       = "30s"
  gpu_temperature_limit = 80
  queue_depth_limit     = 4
  queue_depth_for       = "2m"
  disk_used_limit       = 80

  receiver "ops" {
    webhook = "http://127.0.0.1:9099/alerts"
    email   = "ops@example.org"
  }

  receiver "pager" {
    webhook = "https://pager.example.org/hook"
  }

  smtp {
    smarthost = "mail.example.org:587"
    from      = "sovereign@example.org"
    username  = "sovereign"
    password  = secret_file("smtp.secret")
  }

  rule "SlowFirstToken" {
    expr     = "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket[5m]))) > 5"
    for      = "10m"
    severity = "warning"
    summary  = "Members wait more than 5 s for the first token."
  }
}

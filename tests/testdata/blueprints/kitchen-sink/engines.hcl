# Test data: the revisions and digests are made up, not those of the real
# repositories.
model "qwen3-30b" {
  catalog  = "qwen3-30b-a3b"
  weights  = "fp8"
  source   = "hf://Qwen/Qwen3-30B-A3B-Instruct-2507-FP8"
  revision = "89abcdef0123456789abcdef0123456789abcdef"
  files = {
    "config.json"                      = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
    "model-00001-of-00002.safetensors" = "sha256:5ac6747bd1c9737034e95923613f7204fa1f80fcf5f759b1263a5b7d71581939"
    "model-00002-of-00002.safetensors" = "sha256:8d467d33f379061bb4df18452affc56018914fcebc9bf35633b89fc3c1ab942b"
  }
  # Fetched from a mirror on the LAN instead of huggingface.co.
  mirror = "http://mirror.lan:8080/Qwen3-30B-A3B-Instruct-2507-FP8/"
}

# Pre-staged (air-gapped) and verified at boot against its manifest.
model "r1-32b" {
  catalog  = "deepseek-r1-distill-qwen-32b"
  weights  = "awq-int4"
  revision = "0123456789abcdef0123456789abcdef01234567"
  files = {
    "config.json"       = "sha256:7d29fda1b7e04b02476bbffe23c820be0610a978a16ddbc0d8bbb4ede1069a67"
    "model.safetensors" = "sha256:1d212ae139ecbc1f4118e60442a2aaaeded1877d781d0bd69ebab6dc89f27e5d"
  }
}

engine "vllm" "big" {
  model                  = model.qwen3-30b
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  gpu_memory_utilization = 0.45
  max_model_len          = 32768
  kv_cache_dtype         = "fp8_e4m3"
  tool_call_parser       = "hermes"
  cpu_kv_offload         = "64GiB"
}

engine "vllm" "fast" {
  model                  = model.r1-32b
  served_model_name      = "r1 fast"
  image                  = "docker.io/vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c"
  port                   = 8001
  gpu_memory_utilization = 0.4
  quantization           = "awq_marlin"
  enable_prefix_caching  = false
  reasoning_parser       = "deepseek_r1"
  max_num_seqs           = 64
  start_timeout          = "45m"
  api_key                = secret_env("SOVEREIGN_TEST_API_KEY")
  environment = {
    VLLM_LOGGING_LEVEL = "DEBUG"
    NOTE               = "50% of $HOME, \"quoted\""
  }
  extra_args = ["--kv-transfer-config", jsonencode({ kv_connector = "OffloadingConnector", kv_role = "kv_both" })]
}

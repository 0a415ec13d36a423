model "qwen3-30b" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
  source  = "hf://Qwen/Qwen3-30B-A3B-Instruct-2507-FP8"
}

model "r1-32b" {
  catalog  = "deepseek-r1-distill-qwen-32b"
  weights  = "awq-int4"
  revision = "0123456789abcdef0123456789abcdef01234567"
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

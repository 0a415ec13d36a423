# extra_args may add flags, not override what sovereign passes: the engine
# takes the last value, while the plan, the checks, the gateway and the
# health check use sovereign's. A different value is an error pointing at
# the setting to use; the same value is only redundant; a tuning flag the
# plan reads from extra_args (--max-num-seqs) is no override. SGLang's
# --api-key, which sovereign passes after extra_args, makes the item moot.
# ENV: SOVEREIGN_CORPUS_KEY=sk-corpus-0123456789abcdef
# ERRORS: 3
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model                  = model.qwen3
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  gpu_memory_utilization = 0.6
  max_model_len          = 8192
  kv_cache_dtype         = "fp8"

  extra_args = [
    "--port=9000",
    "--max-model-len", "32768",
    "--no-enable-prefix-caching",
    "--kv-cache-dtype", "fp8",
    "--max-num-seqs", "64",
  ]
}

engine "sglang" "turns" {
  model               = model.qwen3
  image               = "docker.io/lmsysorg/sglang:v0.5.9@sha256:e216b7dc4ac1938b599b982233ccf7eb2b11dd1f07fc2e00a7b9841052c553be"
  port                = 30000
  mem_fraction_static = 0.3
  context_length      = 8192
  api_key             = secret_env("SOVEREIGN_CORPUS_KEY")

  extra_args = ["--api-key", "sk-typed-in-clear"]
}

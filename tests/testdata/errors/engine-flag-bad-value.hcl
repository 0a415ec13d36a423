# Values the pinned releases refuse: an offloading backend vLLM v0.14.0 does
# not have, a quantization it deprecated without its gate, and a KV cache type
# SGLang v0.5.9 does not know (which extra_args may not set anyway: the
# kv_cache_dtype setting does).
# ERRORS: 4
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "awq-int4"
}

engine "vllm" "main" {
  model                  = model.qwen3
  image                  = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  gpu_memory_utilization = 0.45
  max_model_len          = 8192

  extra_args = ["--kv-offloading-backend", "mooncake", "--quantization", "gptq_bitblas"]
}

engine "sglang" "turns" {
  model               = model.qwen3
  image               = "docker.io/lmsysorg/sglang:v0.5.9@sha256:e216b7dc4ac1938b599b982233ccf7eb2b11dd1f07fc2e00a7b9841052c553be"
  port                = 30000
  mem_fraction_static = 0.45
  context_length      = 8192

  extra_args = ["--kv-cache-dtype", "fp8"]
}

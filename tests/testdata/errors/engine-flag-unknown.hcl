# Flags vLLM v0.14.0 removed (one with its named replacement), an
# abbreviation it only tolerates, and an image tagged with a release
# sovereign has no flag table for.
# ERRORS: 2
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

  extra_args = ["--rope-theta", "1000000", "--max-num-seq", "64", "--cuda-graph-sizes", "64"]
}

engine "vllm" "next" {
  model                  = model.qwen3
  image                  = "docker.io/vllm/vllm-openai:v0.99.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port                   = 8001
  gpu_memory_utilization = 0.45
  max_model_len          = 8192
}

# Speed traps: --quantization awq forces vLLM's slow AWQ kernel (a warning
# that explains the cost), and chunked prefill turned off with a batch budget
# below max_model_len, which vLLM may refuse at start-up; CUDA graphs captured
# only up to 8 sequences while the plan lets many more run at once.
# ERRORS: 1
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
  gpu_memory_utilization = 0.9
  max_model_len          = 32768
  quantization           = "awq"

  extra_args = ["--max-num-batched-tokens", "8192", "--no-enable-chunked-prefill", "--cudagraph-capture-sizes", "1", "2", "4", "8"]
}

# A rule of the blueprint's own that queries metrics the pinned vLLM
# release does not export (the GPU-prefixed names vLLM removed), and one
# that does not parse: each is reported at its place in the expression.
# ERRORS: 3
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = "awq-int4"
}
engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  port  = 8000

  gpu_memory_utilization = 0.9
}

metrics {
  rule "CacheFull" {
    expr = "vllm:gpu_cache_usage_perc > 0.95 or vllm:time_per_output_token_seconds_count > 0"
  }

  rule "Broken" {
    expr = "rate(vllm:prompt_tokens_total[5m]"
  }
}

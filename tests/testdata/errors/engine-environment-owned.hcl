# An engine's environment may add variables, not replace the ones sovereign
# sets: the blueprint's would win in the unit, so vLLM would lose its cache
# folder, and an API key variable would sit in the unit in clear text.
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
  weights = "fp8"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"

  environment = {
    VLLM_CACHE_ROOT   = "/tmp/cache"
    VLLM_API_KEY      = "typed-in-clear"
    VLLM_LOGGING_LEVEL = "DEBUG"
  }
}

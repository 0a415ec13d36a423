# A lock file whose digest is not a digest: the error points into the lock
# file, at its line, with the snippet.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"
  admin "ops" {
    ssh_authorized_keys = [file("keys/admin.pub")]
  }
}

model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = "awq-int4"
}

engine "vllm" "main" {
  model          = model.qwen3
  image          = "docker.io/vllm/vllm-openai:v0.14.0"
  kv_cache_dtype = "fp8"
}

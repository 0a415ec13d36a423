# Three mistakes in one model's weights, each reported at its own place: a
# file outside the model folder, a digest without its algorithm, and a mirror
# that is not an http URL.
# ERRORS: 3
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog  = "qwen3-235b-a22b"
  weights  = "awq-int4"
  source   = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
  revision = "0123456789abcdef0123456789abcdef01234567"
  files = {
    "../config.json"                   = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    "model-00001-of-00001.safetensors" = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
  }
  mirror = "ftp://10.0.0.5/qwen3"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
}

# Files to fetch from a source without a revision would be fetched from a
# branch that can move; the digests would then fail on the appliance, far away.
# ERRORS: 1
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
  source  = "hf://QuantTrio/Qwen3-235B-A22B-Instruct-2507-AWQ"
  files = {
    "config.json" = "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
  }
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
}

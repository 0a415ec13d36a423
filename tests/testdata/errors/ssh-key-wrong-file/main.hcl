# file() of the wrong file where a public key belongs: the error says which
# lines are wrong but never prints them, since such a file may hold secrets
# (here a token, which must not appear in the output).
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = [file("deploy.env")]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
}

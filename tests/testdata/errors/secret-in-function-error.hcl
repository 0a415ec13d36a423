# A function that fails on a secret says why only without the secret: cty
# hands functions their arguments unmarked, and file()'s or parseint()'s own
# message would quote the value (the token below must not appear).
# ENV: SOVEREIGN_VAR_token=corpus-secret-do-not-print
# ERRORS: 2
variable "token" {
  type      = string
  sensitive = true
}

appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = [file(var.token)]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model         = model.qwen3
  image         = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  max_model_len = parseint(var.token, 10)
}

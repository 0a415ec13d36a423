# A required setting given null is refused at its line: HCL counts
# "x = null" as present, and the gateway would otherwise be built with no
# cookie secret, no TLS key and no OIDC client secret (a crash before this
# check). A null where a setting is optional means "not set".
# ERRORS: 4
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = null

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

model "qwen3" {
  catalog = "qwen3-30b-a3b"
  weights = "fp8"
}

engine "vllm" "main" {
  model          = model.qwen3
  image          = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  max_model_len  = null
}

gateway {
  domain        = "llm.coop.test"
  cookie_secret = null
  tls {
    certificate = file("cert.pem")
    key         = null
  }
  oidc {
    issuer        = "https://id.coop.org"
    client_id     = "sovereign"
    client_secret = null
  }
  member "alice" {
    email = "alice@coop.org"
  }
  route "/v1/" {
    engine = engine.vllm.main
  }
}

# A blueprint of one host choosing a router: routers spread requests over
# several hosts' engines, so the fleet block chooses one.
# ENV: SOVEREIGN_CORPUS_COOKIE=0123456789abcdef0123456789abcdef
# ENV: SOVEREIGN_CORPUS_CLIENT=client-secret-0123456789
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
  weights = "fp8"
}

engine "vllm" "main" {
  model = model.qwen3
  image = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
}

gateway {
  domain        = "llm.coop.test"
  router        = "llm-d"
  cookie_secret = secret_env("SOVEREIGN_CORPUS_COOKIE")
  tls {
    certificate = file("cert.pem")
    key         = secret_file("key.pem")
  }
  oidc {
    issuer        = "https://id.coop.org"
    client_id     = "sovereign"
    client_secret = secret_env("SOVEREIGN_CORPUS_CLIENT")
  }
  member "alice" {
    email = "alice@coop.org"
  }
  route "/v1/" {
    engine = engine.vllm.main
  }
}

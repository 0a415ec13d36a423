# Alert receivers that say nowhere to send alerts, or send e-mail without a
# mail server.
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
metrics {
  receiver "ops" {
  }

  receiver "night" {
    email = "night@example.org"
  }

  receiver "hook" {
    webhook = "ftp://example.org/alerts"
  }
}

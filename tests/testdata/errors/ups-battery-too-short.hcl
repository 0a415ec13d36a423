# A UPS whose battery runs out before the on-battery timeline ends.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

ups "main" {
  watts   = 2700
  runtime = "4m"

  on_battery {
    shutdown_after = "300s"
  }
}

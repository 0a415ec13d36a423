# A folder blueprint: errors in two of its files, reported together.
# ERRORS: 3
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"
  timezone = "Mars/Olympus_Mons"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

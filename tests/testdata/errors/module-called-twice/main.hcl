# One module called twice: its model and engine are declared twice, and the
# errors name the module blocks that collide, not the module's one line.
# ERRORS: 2
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

module "first" {
  source = "./shared"
}

module "second" {
  source = "./shared"
}

# Two uplinks with the same priority.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

wan {
  uplink "nbn" {
    interface = "enp1s0"
    priority  = 1
  }

  uplink "5g" {
    type     = "gsm"
    priority = 1
  }
}

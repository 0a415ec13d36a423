# A failover time NetworkManager's check cannot meet, and nothing for the
# active probe to ping.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

wan {
  failover_time = "10s"

  uplink "nbn" {
    interface = "enp1s0"
    priority  = 1
  }
}

# A 200 KB value: the error quotes only the start of it.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = join("", [for i in range(1000) : join("", [for j in range(20) : "Abcdefghij"])])

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

# The OS image is built FROM its base by digest: a base tag that no lock
# file pins is an error at the base.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

os {
  base          = "quay.io/fedora/fedora-coreos:42.20250721.3.0"
  nvidia_driver = "580.126.20"
}

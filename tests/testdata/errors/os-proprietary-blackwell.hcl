# Blackwell initialises only with the open kernel modules: the proprietary
# flavour and the lts one (proprietary too) are errors where they are set.
# ERRORS: 1
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

os {
  base           = "quay.io/fedora/fedora-coreos:42.20250721.3.0@sha256:67c9125048afe7168a7da7353ee4c15bca8bd1220bfcde4a54bfaf086badba35"
  nvidia_driver  = "580.126.20"
  driver_flavour = "proprietary"
}

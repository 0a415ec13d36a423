# Module sources that are not folders of blueprint files: missing, a file.
# One error each, at the source line.
# ERRORS: 2
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }
}

module "gone" {
  source = "./no-such-folder"
}

module "file" {
  source = "./module-source-missing.hcl"
}

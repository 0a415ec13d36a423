# A line break in a setting written into a unit: the storage device would
# have added a What= line to the mount unit. Also a newline in
# served_model_name and in an extra argument (once an internal error).
# ERRORS: 3
appliance "coop" {
  hardware = "dgx-station-gb300"
  hostname = "coop"

  admin "ops" {
    ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILnO8ve6aA/kk4bxmNnghr5ZuFYyC95xMYvMFQpRW2sP ops@example"]
  }

  storage {
    device = "/dev/disk/by-id/nvme-x\nWhat=/evil"
  }
}

model "qwen3" {
  catalog = "qwen3-235b-a22b"
  weights = "awq-int4"
}

engine "vllm" "main" {
  model             = model.qwen3
  image             = "docker.io/vllm/vllm-openai:v0.14.0@sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  served_model_name = "coop\nExecStartPre=/bin/evil"
  extra_args        = ["--seed", "7\n"]
}

# This file pins every container image of the blueprint beside it to a digest,
# for each platform its host needs. `sovereign lock` writes it; `sovereign build`
# only reads it and never touches the network. Commit it and review changes to
# it like code: a new digest is new software on the appliance.

# Not resolved by `sovereign lock` here: pinned from the public Dockerfiles of
# tinfoilsh/vllm-openai-audio and lxk36/xgc2-stt-service, which agree on this
# index digest (IMAGE_PINS.md); not checked against the registry. `sovereign
# lock --check` verifies it, and `sovereign lock` replaces it, wherever the
# registry is reachable.
image "docker.io/vllm/vllm-openai:v0.14.0" {
  tag    = "v0.14.0"
  digest = "sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  kind   = "index"
  source = "the public Dockerfiles of tinfoilsh/vllm-openai-audio and lxk36/xgc2-stt-service, which agree on this index digest (IMAGE_PINS.md); not checked against the registry"

  platform "linux/amd64" {
    digest = "sha256:48a03c91eaa04fb7e71c77121a85e661d62de1b2207edf591aea6a05d779f9ef"
  }
}

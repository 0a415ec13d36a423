# This file pins every container image of the blueprint beside it to a digest,
# for each platform its host needs. `sovereign lock` writes it; `sovereign build`
# only reads it and never touches the network. Commit it and review changes to
# it like code: a new digest is new software on the appliance.

# Not resolved by `sovereign lock` here: pinned from the public Dockerfiles of
# tinfoilsh/vllm-openai-audio and lxk36/xgc2-stt-service, which agree on this
# index digest; not checked against the registry. `sovereign
# lock --check` verifies it, and `sovereign lock` replaces it, wherever the
# registry is reachable.
# The linux/arm64 manifest digest is unresolved: the index digest alone pins the
# image (it fixes every child); `sovereign lock` adds the child's digest as a
# second check.
image "docker.io/vllm/vllm-openai:v0.14.0" {
  tag    = "v0.14.0"
  digest = "sha256:zz6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  kind   = "index"
  source = "the public Dockerfiles of tinfoilsh/vllm-openai-audio and lxk36/xgc2-stt-service, which agree on this index digest; not checked against the registry"

  platform "linux/arm64" {
    digest = "unresolved"
  }
}

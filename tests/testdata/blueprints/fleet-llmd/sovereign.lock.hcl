# This file pins every container image of the blueprint beside it to a digest,
# for each platform its host needs. `sovereign lock` writes it; `sovereign build`
# only reads it and never touches the network. Commit it and review changes to
# it like code: a new digest is new software on the appliance.

# The llm-d router's images have no digest from a public source sovereign
# could check: they run by tag, and every build warns about them.
image "docker.io/envoyproxy/envoy:distroless-v1.33.2" {
  tag      = "distroless-v1.33.2"
  unpinned = "no public digest observed for this tag"
}

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
  digest = "sha256:1d6866b87630d94f5e0cdae55ab5abb4ce0b03fcb84d9d10612f9d518d19d4fd"
  kind   = "index"
  source = "the public Dockerfiles of tinfoilsh/vllm-openai-audio and lxk36/xgc2-stt-service, which agree on this index digest; not checked against the registry"

  platform "linux/arm64" {
    digest = "unresolved"
  }
}

# The metrics block's exporters below have no digest from a public source
# sovereign could check: they run by tag until `sovereign lock` resolves them
# where the registry is reachable, and every build warns about them.
image "ghcr.io/druggeri/nut_exporter:3.3.0" {
  tag      = "3.3.0"
  unpinned = "no digest from two independent public sources for this tag; run `sovereign lock` where ghcr.io is reachable"
}

image "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04" {
  tag      = "4.5.3-4.8.2-ubuntu22.04"
  unpinned = "no public digest observed for this tag; run `sovereign lock` where nvcr.io is reachable"
}

image "ghcr.io/llm-d/llm-d-router-endpoint-picker:v0.8.1" {
  tag      = "v0.8.1"
  unpinned = "no public digest observed for this tag"
}

# Not resolved by `sovereign lock` here: pinned from the public Containerfiles of
# varesa/fcos-p4 and ngarside/server (Dependabot), which agree on this index
# digest; not checked against the registry. `sovereign lock --check` verifies
# it, and `sovereign lock` replaces it, wherever the registry is reachable.
# The linux/arm64 manifest digest is unresolved: the index digest alone pins the image
# (it fixes every child); `sovereign lock` adds the child's digest as a second
# check.
image "quay.io/fedora/fedora-coreos:42.20250721.3.0" {
  tag    = "42.20250721.3.0"
  digest = "sha256:67c9125048afe7168a7da7353ee4c15bca8bd1220bfcde4a54bfaf086badba35"
  kind   = "index"
  source = "the public Containerfiles of varesa/fcos-p4 and ngarside/server (Dependabot), which agree on this index digest; not checked against the registry"

  platform "linux/arm64" {
    digest = "unresolved"
  }
}

# Test fixture: the exporters without a public digest run by tag,
# opted out explicitly like in the reference blueprint's lock.
image "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-ubuntu22.04" {
  tag      = "4.5.3-4.8.2-ubuntu22.04"
  unpinned = "no public digest observed for this tag"
}

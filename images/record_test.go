package images_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/images"
)

// images.json says for every unit what it runs and how that was pinned; the
// opt-out is recorded with its reason.
func TestRecords(t *testing.T) {
	lock := sampleLock()
	lock.Exists = true
	tree := treeWith("docker.io/vllm/vllm-openai:v0.14.0", "quay.io/c/d:2@"+armDigest, "nvcr.io/nim/x:1.0")
	if diags := images.Pin(tree, lock, "linux/arm64"); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []images.Record{
		{Unit: "a.container", Reference: "docker.io/vllm/vllm-openai:v0.14.0", Image: "docker.io/vllm/vllm-openai@" + indexDigest, Digest: indexDigest,
			Platform: "linux/arm64", PlatformDigest: images.Unresolved, PinnedBy: "lock", Source: "public pins in tinfoilsh/vllm-openai-audio"},
		{Unit: "b.container", Reference: "quay.io/c/d:2@" + armDigest, Image: "quay.io/c/d@" + armDigest, Digest: armDigest, Platform: "linux/arm64", PinnedBy: "inline"},
		{Unit: "c.container", Reference: "nvcr.io/nim/x:1.0", Image: "nvcr.io/nim/x:1.0", Platform: "linux/arm64", PinnedBy: "unpinned", Unpinned: "no public digest"},
	}
	if diff := cmp.Diff(want, images.Records(tree, lock, "linux/arm64")); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
	if b, err := images.RecordsJSON(nil); err != nil || string(b) != "[]\n" {
		t.Errorf("no images: %q, %v", b, err)
	}
}

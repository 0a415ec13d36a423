package images

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/sovereign-collective/sovereign/units"
)

// Record is one image the appliance runs, as out/images.json lists it:
// what the blueprint wrote, what the unit runs, and how it was
// pinned, so that a review of an update sees every image change at once.
type Record struct {
	Unit string `json:"unit"`
	// Reference is the image as the blueprint writes it.
	Reference string `json:"reference"`
	// Image is what the unit runs: repo@sha256:… (or repo:tag if unpinned).
	Image string `json:"image"`
	// Digest is the pinned digest (an index's or a single manifest's).
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform"`
	// PlatformDigest is the platform's image manifest digest, when the
	// lock knows it ("unresolved" when it does not).
	PlatformDigest string `json:"platform_digest,omitempty"`
	// PinnedBy is "inline", "lock" or "unpinned" (the explicit opt-out).
	PinnedBy string `json:"pinned_by"`
	// Source says where a lock pin came from ("registry": `sovereign lock`).
	Source string `json:"source,omitempty"`
	// Unpinned is the opt-out's reason.
	Unpinned string `json:"unpinned,omitempty"`
}

// Records lists the images of a tree that Pin has pinned, by unit name.
func Records(tree *units.Tree, lock *Lock, platform string) []Record {
	if lock == nil {
		lock = NewLock("")
	}
	var out []Record
	for _, u := range tree.Units {
		img := u.Image
		if img == nil || img.Pinned == "" {
			continue
		}
		r := Record{Unit: u.Name, Reference: img.Ref, Image: img.Pinned, Platform: platform}
		ref, err := ParseRef(img.Ref)
		if err != nil {
			continue
		}
		entry := lock.Images[ref.Key()]
		switch {
		case ref.Digest != "":
			r.PinnedBy, r.Digest = "inline", ref.Digest
			if entry != nil && entry.Digest == ref.Digest {
				r.PlatformDigest = entry.Platforms[platform]
			}
		case entry != nil && entry.Unpinned != "":
			r.PinnedBy, r.Unpinned = "unpinned", entry.Unpinned
		case entry != nil:
			r.PinnedBy, r.Digest, r.PlatformDigest, r.Source = "lock", entry.Digest, entry.Platforms[platform], entry.Source
		}
		if _, d, ok := strings.Cut(img.Pinned, "@"); ok {
			r.Digest = d
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unit < out[j].Unit })
	return out
}

// RecordsJSON is out/images.json: the records, indented, newline-terminated.
func RecordsJSON(records []Record) ([]byte, error) {
	if records == nil {
		records = []Record{}
	}
	b, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

package images

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

// Wanted is an image the blueprint runs, with the place that names it.
type Wanted struct {
	Ref    Ref
	Origin hcl.Range
}

// RefDiagnostic is the diagnostic for err, ParseRef's error, at the place
// that names the reference.
func RefDiagnostic(err error, at hcl.Range) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid image reference", Detail: err.Error(), Subject: at.Ptr()}
	var re *RefError
	if errors.As(err, &re) {
		d.Summary, d.Detail = re.Summary, re.Detail
	}
	return d
}

// WantedImages parses the references of imgs, once each, sorted by
// reference; a reference that cannot be used is a diagnostic where it is
// named.
func WantedImages(imgs []*units.Image) ([]Wanted, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	var out []Wanted
	for _, img := range imgs {
		ref, err := ParseRef(img.Ref)
		if err != nil {
			diags = append(diags, RefDiagnostic(err, img.Origin))
			continue
		}
		if !seen[ref.String()] {
			seen[ref.String()] = true
			out = append(out, Wanted{Ref: ref, Origin: img.Origin})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out, diags
}

// LockRequest is what `sovereign lock` was asked to do.
type LockRequest struct {
	// Updates are the lock keys (repo:tag) to re-resolve; none means all.
	Updates []string
	// Check resolves every image to compare, without writing.
	Check bool
}

// UnknownUpdateError is an --update naming no image the blueprint pins by
// tag.
type UnknownUpdateError struct {
	Update, Key string
	// Known are the keys the blueprint does pin by tag.
	Known []string
}

func (e *UnknownUpdateError) Error() string {
	known := "no image pinned by tag"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("the blueprint has no image %s pinned by tag (it has %s)", e.Key, known)
}

// UpdateKeys turns the references people name in --update into lock keys
// (docker.io/nginx:1 is docker.io/library/nginx:1), and refuses one the
// blueprint does not pin by tag.
func UpdateKeys(wanted []Wanted, updates []string) ([]string, error) {
	tagged := taggedKeys(wanted)
	keys := make([]string, 0, len(updates))
	for _, u := range updates {
		key := u
		if ref, err := ParseRef(u); err == nil {
			key = ref.Key()
		}
		if !tagged[key] {
			return nil, &UnknownUpdateError{Update: u, Key: key, Known: slices.Sorted(maps.Keys(tagged))}
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func taggedKeys(wanted []Wanted) map[string]bool {
	tagged := map[string]bool{}
	for _, w := range wanted {
		if w.Ref.Digest == "" {
			tagged[w.Ref.Key()] = true
		}
	}
	return tagged
}

// ToResolve is what a lock run asks the registry about: every image for a
// check or a full lock, or the updated ones plus any the lock does not yet
// pin for platform. An inline digest is always resolved, which checks that
// it exists for the platform; an explicit opt-out (unpinned) stays until
// someone names the image in Updates.
func ToResolve(old *Lock, wanted []Wanted, platform string, req LockRequest) []Ref {
	var todo []Ref
	for _, w := range wanted {
		key := w.Ref.Key()
		entry := old.Images[key]
		named := slices.Contains(req.Updates, key)
		switch {
		case w.Ref.Digest != "":
			todo = append(todo, w.Ref)
		case entry != nil && entry.Unpinned != "" && !named:
		case req.Check || len(req.Updates) == 0 || named:
			todo = append(todo, w.Ref)
		case entry == nil || entry.Platforms[platform] == "":
			todo = append(todo, w.Ref)
		}
	}
	return todo
}

// MergeLock is the lock to write: for every image the blueprint pins by tag,
// the entry just resolved, else the old one. Entries of images the
// blueprint no longer runs are dropped.
func MergeLock(old *Lock, wanted []Wanted, resolved map[string]*Entry) *Lock {
	next := NewLock(old.Path)
	next.OS = old.OS // `sovereign os build` owns it
	for key := range taggedKeys(wanted) {
		switch {
		case resolved[key] != nil:
			next.Images[key] = resolved[key]
		case old.Images[key] != nil:
			next.Images[key] = old.Images[key]
		}
	}
	return next
}

// NothingToLock is true when every image carries its digest inline and
// there is no lock file to keep up to date.
func NothingToLock(old *Lock, wanted []Wanted) bool {
	return len(taggedKeys(wanted)) == 0 && !old.Exists
}

// ChangeKind is how an entry of the lock changed.
type ChangeKind int

const (
	Added ChangeKind = iota
	Moved
	Dropped
)

// LockChange is one entry that differs between two locks.
type LockChange struct {
	Kind     ChangeKind
	Key      string
	Was, Now *Entry
}

// LockChanges lists what differs from old to next, added and moved entries
// first, by key, then the dropped ones.
func LockChanges(old, next *Lock) []LockChange {
	var out []LockChange
	for _, key := range slices.Sorted(maps.Keys(next.Images)) {
		was, now := old.Images[key], next.Images[key]
		switch {
		case was == nil:
			out = append(out, LockChange{Kind: Added, Key: key, Now: now})
		case was.Digest != now.Digest:
			out = append(out, LockChange{Kind: Moved, Key: key, Was: was, Now: now})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(old.Images)) {
		if next.Images[key] == nil {
			out = append(out, LockChange{Kind: Dropped, Key: key, Was: old.Images[key]})
		}
	}
	return out
}

// CheckStatus is how one image of the blueprint stands against the lock.
type CheckStatus int

const (
	// CheckOK: the lock pins what the registry says.
	CheckOK CheckStatus = iota
	// CheckInline: an inline digest, which exists for the platform.
	CheckInline
	// CheckOtherSource: pinned from elsewhere; the registry agrees.
	CheckOtherSource
	// CheckUnresolvedPlatform: the lock leaves the platform's digest
	// unresolved and the index agrees; `sovereign lock` records it.
	CheckUnresolvedPlatform
	// CheckUnpinned: an explicit opt-out.
	CheckUnpinned
	// CheckNotLocked: the lock has no entry (stale).
	CheckNotLocked
	// CheckMoved: the tag points elsewhere now (stale).
	CheckMoved
	// CheckNoPlatform: the entry lacks the host's platform (stale).
	CheckNoPlatform
	// CheckPlatformMoved: the platform's digest differs (stale).
	CheckPlatformMoved
	// CheckUnused: the lock pins an image the blueprint no longer runs.
	CheckUnused
)

// Stale is true for the statuses that make `lock --check` fail.
func (s CheckStatus) Stale() bool {
	return s == CheckNotLocked || s == CheckMoved || s == CheckNoPlatform || s == CheckPlatformMoved
}

// LockCheck is how one image stands: Was is the lock's entry, Now what the
// registry says.
type LockCheck struct {
	Status   CheckStatus
	Ref      Ref
	Key      string
	Was, Now *Entry
}

// CheckLock compares the lock with what the registry resolved for every
// wanted image, in the order of wanted, then lists the lock's entries the
// blueprint no longer runs.
func CheckLock(old *Lock, wanted []Wanted, resolved map[string]*Entry, platform string) []LockCheck {
	var out []LockCheck
	for _, w := range wanted {
		key := w.Ref.Key()
		c := LockCheck{Ref: w.Ref, Key: key, Was: old.Images[key], Now: resolved[key]}
		c.Status = checkStatus(w.Ref, c.Was, c.Now, platform)
		out = append(out, c)
	}
	used := map[string]bool{}
	for _, w := range wanted {
		used[w.Ref.Key()] = true
	}
	for _, key := range slices.Sorted(maps.Keys(old.Images)) {
		if e := old.Images[key]; resolved[key] == nil && e.Unpinned == "" && !used[key] {
			out = append(out, LockCheck{Status: CheckUnused, Key: key, Was: e})
		}
	}
	return out
}

func checkStatus(ref Ref, was, now *Entry, platform string) CheckStatus {
	switch {
	case ref.Digest != "":
		return CheckInline
	case was == nil:
		return CheckNotLocked
	case was.Unpinned != "":
		return CheckUnpinned
	case was.Digest != now.Digest:
		return CheckMoved
	case was.Platforms[platform] == "":
		return CheckNoPlatform
	case was.Platforms[platform] != now.Platforms[platform] && was.Platforms[platform] == Unresolved:
		return CheckUnresolvedPlatform
	case was.Platforms[platform] != now.Platforms[platform]:
		return CheckPlatformMoved
	case was.Source != SourceRegistry:
		return CheckOtherSource
	}
	return CheckOK
}

// BundleImages are the images an offline bundle carries: each image of the
// pinned tree once (by lock key, sorted), its Ref's Digest the digest it is
// pinned to, its Origin where the blueprint names it; and the references of
// the images that run unpinned by an explicit opt-out, which the appliance
// pulls at first boot instead.
func BundleImages(tree *units.Tree) (pinned []Wanted, unpinned []string, err error) {
	seen := map[string]bool{}
	for _, img := range tree.Images() {
		ref, err := ParseRef(img.Ref)
		if err != nil {
			return nil, nil, fmt.Errorf("bug: %s was pinned but does not parse: %w", img.Ref, err)
		}
		_, digest, ok := strings.Cut(img.Pinned, "@")
		if !ok {
			unpinned = append(unpinned, img.Ref)
			continue
		}
		if seen[ref.Key()] {
			continue
		}
		seen[ref.Key()] = true
		ref.Digest = digest
		pinned = append(pinned, Wanted{Ref: ref, Origin: img.Origin})
	}
	sort.Slice(pinned, func(i, j int) bool { return pinned[i].Ref.Key() < pinned[j].Ref.Key() })
	return pinned, unpinned, nil
}

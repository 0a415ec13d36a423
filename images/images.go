// Package images owns container image references: parsing them, the lock
// file that pins each to a digest, checking that every image of the
// appliance is pinned for its host's platform, and the offline bundle's
// first-boot load unit. It never touches a registry: resolving tags and
// fetching images is images/resolve, which only the command line uses, so
// that a build is offline by construction.
package images

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/units"
)

// Pin checks every image of the tree and sets its Pinned reference, the
// digest reference the unit runs. An image is pinned by an inline digest
// (repo:tag@sha256:…) or by its entry in the lock, which must hold the host's
// platform: a tag alone can move, and then two builds of the same blueprint
// would boot different software. A missing, mismatched or wrong-platform pin
// is an error at the image attribute naming the command that fixes it.
func Pin(tree *units.Tree, lock *Lock, platform string) hcl.Diagnostics {
	if lock == nil {
		lock = NewLock("")
	}
	var diags hcl.Diagnostics
	for _, img := range tree.Images() {
		pinned, d := pin(img, lock, platform)
		if d != nil {
			d.Subject = img.Origin.Ptr()
			diags = append(diags, d)
		}
		if pinned != "" {
			img.Pinned = pinned
		}
	}
	return diags
}

func pin(img *units.Image, lock *Lock, platform string) (string, *hcl.Diagnostic) {
	ref, err := ParseRef(img.Ref)
	if err != nil {
		return "", RefDiagnostic(err, img.Origin)
	}
	fix := lock.fix(ref)
	entry := lock.Images[ref.Key()]
	if ref.Digest != "" {
		// An inline digest pins on its own; a lock entry for the same tag
		// must agree with it, or one of them is stale.
		if entry != nil && entry.Digest != "" && entry.Digest != ref.Digest {
			return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Image pinned twice, differently",
				Detail: fmt.Sprintf("%s carries the digest %s, but %s pins %s to %s. One of them is stale: remove the inline digest and run %s, or remove the entry from the lock.",
					img.Ref, ref.Digest, lock.Path, ref.Key(), entry.Digest, fix)}
		}
		return ref.At(ref.Digest), nil
	}
	switch {
	case entry == nil && !lock.Exists:
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Image not locked",
			Detail: fmt.Sprintf("%s is a tag, which can move, and there is no lock file %s to pin it to a digest. Run %s where the registry is reachable, and commit the lock file it writes (or pin it inline as %s@sha256:<digest>).", img.Ref, lock.Path, fix, img.Ref)}
	case entry == nil:
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Image not locked",
			Detail: fmt.Sprintf("%s is a tag, which can move, and %s does not pin it to a digest (was the tag changed since the last lock?). Run %s where the registry is reachable, and commit the lock file.", img.Ref, lock.Path, fix)}
	case entry.Unpinned != "":
		return ref.String(), &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Image runs UNPINNED",
			Detail: fmt.Sprintf("%s is not pinned to a digest: %s opts it out (%q). The appliance pulls whatever the tag points to at first boot, so two builds of this blueprint may boot different software. Pin it with %s as soon as a digest can be trusted.", img.Ref, lock.Path, entry.Unpinned, fix)}
	}
	if _, ok := entry.Platforms[platform]; !ok {
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Image not locked for " + platform,
			Detail: fmt.Sprintf("%s pins %s for %s, but this blueprint's host is %s (did the hardware change?). Run %s to resolve and check it for %s.", lock.Path, img.Ref, platformList(entry.Platforms), platform, fix, platform)}
	}
	if entry.Kind == KindManifest && len(entry.Platforms) != 1 {
		return "", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Inconsistent lock entry",
			Detail: fmt.Sprintf("%s says %s is a single-platform manifest but lists %s; one image runs on one platform. Run %s to rewrite the entry.", lock.Path, img.Ref, platformList(entry.Platforms), fix)}
	}
	return ref.At(entry.Digest), nil
}

// fix is the command that pins ref, as diagnostics show it.
func (l *Lock) fix(ref Ref) string {
	bp := l.Blueprint
	if bp == "" {
		bp = "BLUEPRINT"
	}
	if e := l.Images[ref.Key()]; e != nil {
		return fmt.Sprintf("`sovereign lock %s --update %s`", bp, ref.Key())
	}
	return fmt.Sprintf("`sovereign lock %s`", bp)
}

func platformList(m map[string]string) string {
	if len(m) == 0 {
		return "no platform"
	}
	ps := make([]string, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	s := ps[0]
	for _, p := range ps[1:] {
		s += ", " + p
	}
	return s
}

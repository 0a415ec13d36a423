// Package output is the contract of an output tree, out/: the names of its
// files, manifest.json's entry, where unit files live and the service each
// becomes, and the image references out/ records. The pipeline writes out/
// by it; diff and apply read by it; units names its units by it. It imports
// nothing of sovereign's, so that a reader of out/ needs neither the
// blueprint nor the tree.
package output

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
)

// The files of an output tree.
const (
	IgnitionFile = "ignition.json" // the Ignition config; 0600, it inlines every secret
	ButaneFile   = "config.bu"     // the same config as Butane, secrets left in rootfs/
	ManifestFile = "manifest.json" // every rootfs file: []ManifestEntry
	PlanFile     = "plan.json"     // the capacity plan
	ImagesFile   = "images.json"   // every container image and its pin
	RootfsDir    = "rootfs"        // every file the appliance gets, at its path
	ImageDir     = "image"         // image mode: the appliance image as an OCI layout
	ImageInfo    = "image.json"    // image mode: its reference, digest, base and layer
	OSDir        = "os"            // the host OS image's build context
	PointerFile  = "pointer.ign"   // --ignition-url: the user-data that fetches ignition.json
)

// Where unit files live on the appliance. Quadlet files go where Podman's
// generator reads them at boot; plain units where the admin expects them.
const (
	SystemdDir = "/etc/systemd/system"
	QuadletDir = "/etc/containers/systemd"
)

// quadletExtensions are the unit kinds Podman's generator turns into services.
var quadletExtensions = []string{".container", ".volume", ".network", ".pod", ".kube", ".image", ".build"}

// IsQuadlet reports whether the unit file name is a Podman Quadlet.
func IsQuadlet(name string) bool { return slices.Contains(quadletExtensions, path.Ext(name)) }

// ServiceOf is the systemd service that unit file name becomes: itself for a
// plain unit; for a Podman Quadlet, the service its generator writes
// (NAME.container and NAME.kube give NAME.service, NAME.volume gives
// NAME-volume.service, and so on: podman-systemd.unit(5)).
func ServiceOf(name string) string {
	ext := path.Ext(name)
	if !IsQuadlet(name) {
		return name
	}
	base := strings.TrimSuffix(name, ext)
	if ext == ".container" || ext == ".kube" {
		return base + ".service"
	}
	return base + "-" + strings.TrimPrefix(ext, ".") + ".service"
}

// UnitPath is where the unit file name lives on the appliance.
func UnitPath(name string) string {
	if IsQuadlet(name) {
		return path.Join(QuadletDir, name)
	}
	return path.Join(SystemdDir, name)
}

// ServiceOfPath is the service of the unit file at p, and false when p is
// no unit file (not directly in a unit folder).
func ServiceOfPath(p string) (string, bool) {
	dir := path.Dir(p)
	if dir != QuadletDir && dir != SystemdDir {
		return "", false
	}
	return ServiceOf(path.Base(p)), true
}

// ManifestEntry describes one file of out/rootfs in manifest.json. A secret
// file's digest is empty: the manifest is meant to be shared and diffed,
// and the SHA-256 of a short API key can be brute-forced offline.
type ManifestEntry struct {
	Path   string `json:"path"`
	Mode   string `json:"mode"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	Secret bool   `json:"secret"`
	// Unit is set on a unit file's entry.
	Unit *Unit `json:"unit,omitempty"`
}

// ManifestJSON is manifest.json for entries, which are sorted by path.
func ManifestJSON(entries []ManifestEntry) ([]byte, error) {
	if entries == nil {
		entries = []ManifestEntry{}
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadManifest reads manifest.json.
func ReadManifest(b []byte) ([]ManifestEntry, error) {
	var entries []ManifestEntry
	err := json.Unmarshal(b, &entries)
	return entries, err
}

// Pinned is the digest reference REPOSITORY@DIGEST that a host switches to,
// for an image meant for reference (REPOSITORY[:TAG]): Podman and
// rpm-ostree refuse a reference with both a tag and a digest.
func Pinned(reference, digest string) string {
	repo := reference
	if slash := strings.LastIndex(repo, "/"); slash >= 0 {
		if colon := strings.LastIndex(repo[slash:], ":"); colon >= 0 {
			repo = repo[:slash+colon]
		}
	} else if colon := strings.LastIndex(repo, ":"); colon >= 0 {
		repo = repo[:colon]
	}
	return repo + "@" + digest
}

// Unit is what manifest.json records about a unit file, taken from the
// typed unit the build rendered it from, so that a reader of out/ never
// parses a unit file back.
type Unit struct {
	// Service is the systemd unit the file becomes (ServiceOf).
	Service string `json:"service"`
	// Image is the pinned image a container runs.
	Image string `json:"image,omitempty"`
	// Reads are the absolute paths its settings name (scripts, environment
	// files, configuration, mounted folders): a change at or below one
	// restarts it.
	Reads []string `json:"reads,omitempty"`
	// Needs are the units it Requires=, BindsTo= or is PartOf=: systemd
	// restarts it with them.
	Needs []string `json:"needs,omitempty"`
}

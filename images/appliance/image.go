package appliance

import (
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/images/layout"
	"github.com/sovereign-collective/sovereign/units"
	"github.com/sovereign-collective/sovereign/units/output"
)

// DefaultBase is the base OS image: Fedora CoreOS stable 42.20250721.3.0,
// pinned to its multi-platform index (amd64 and arm64). The digest was
// observed in two unrelated public repositories, not
// verified against quay.io from here; check it with
// `skopeo inspect --raw docker://quay.io/fedora/fedora-coreos@sha256:67c9…`
// before a real deployment, and prefer a newer stable pin once one is
// verified (--base).
const DefaultBase = "quay.io/fedora/fedora-coreos:42.20250721.3.0@sha256:67c9125048afe7168a7da7353ee4c15bca8bd1220bfcde4a54bfaf086badba35"

// Labels the appliance image's config carries besides the base's.
const (
	LabelAppliance = "org.sovereign-collective.appliance"
	LabelHardware  = "org.sovereign-collective.hardware"
	LabelVersion   = "org.sovereign-collective.sovereign-version"
	LabelBaseName  = "org.opencontainers.image.base.name"
	LabelBaseHash  = "org.opencontainers.image.base.digest"
)

// Options names the appliance in the image's labels.
type Options struct {
	Appliance, Hardware string
	// Version is sovereign's version: a different sovereign may lay the
	// same tree out differently, so it is part of the image's identity.
	Version string
	// Base is the base reference as pinned (DefaultBase or --base).
	Base string
	// Platform is the host's, "linux/arm64"; the base must be for it.
	Platform string
}

// Build appends the appliance layer of tree to base. The same base, tree
// and options give the same image digest.
func Build(base v1.Image, tree *units.Tree, rootfs []*units.File, opt Options) (v1.Image, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base image's config: %w", err)
	}
	if got := cf.Platform(); got == nil || got.OS+"/"+got.Architecture != opt.Platform {
		return nil, fmt.Errorf("the base image is for %s, not the host's %s", platformString(got), opt.Platform)
	}
	baseMT, err := base.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading the base image's media type: %w", err)
	}
	layerMT := types.OCILayer
	if baseMT == types.DockerManifestSchema2 {
		layerMT = types.DockerLayer
	}
	layer, err := Layer(tree, rootfs, layerMT)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: layerMT,
		History: v1.History{
			Created:   v1.Time{Time: Epoch},
			CreatedBy: "sovereign build --image",
			Comment:   "the appliance root filesystem of " + opt.Appliance,
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err = img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("appending the appliance layer: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: Epoch}
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	baseDigest, err := base.Digest()
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		LabelAppliance: opt.Appliance,
		LabelHardware:  opt.Hardware,
		LabelVersion:   opt.Version,
		LabelBaseName:  opt.Base,
		LabelBaseHash:  baseDigest.String(),
	} {
		cf.Config.Labels[k] = v
	}
	return mutate.ConfigFile(img, cf)
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "no platform"
	}
	return p.OS + "/" + p.Architecture
}

// Info is out/image.json: which image this output is, for diff and for the
// operator.
type Info struct {
	// Reference is the repository (and tag) the image is meant for.
	Reference string `json:"reference"`
	// Digest is the image manifest's digest; Reference's repository at this
	// digest is what the host switches to.
	Digest   string `json:"digest"`
	Platform string `json:"platform"`
	Base     string `json:"base"`
	// BaseDigest is the base's per-platform manifest digest.
	BaseDigest string `json:"base_digest"`
	// Layer is the appliance layer (compressed digest, uncompressed diff
	// ID, compressed size).
	Layer struct {
		Digest string `json:"digest"`
		DiffID string `json:"diff_id"`
		Size   int64  `json:"size"`
	} `json:"layer"`
}

// Pinned is the digest reference of the image: REPOSITORY@sha256:….
func (i *Info) Pinned() string { return output.Pinned(i.Reference, i.Digest) }

// Describe returns img's Info.
func Describe(img v1.Image, ref string, opt Options) (*Info, error) {
	if _, err := name.ParseReference(ref); err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		return nil, fmt.Errorf("reading the image's layers: %v", err)
	}
	top := layers[len(layers)-1]
	info := &Info{Reference: ref, Digest: d.String(), Platform: opt.Platform, Base: opt.Base}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	info.BaseDigest = cf.Config.Labels[LabelBaseHash]
	ld, err := top.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := top.DiffID()
	if err != nil {
		return nil, err
	}
	size, err := top.Size()
	if err != nil {
		return nil, err
	}
	info.Layer.Digest, info.Layer.DiffID, info.Layer.Size = ld.String(), diffID.String(), size
	return info, nil
}

// JSON is info as out/image.json holds it.
func (i *Info) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(i, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteLayout writes img as an OCI image layout at dir (created) through
// fsys — go-containerregistry's layout package writes to the OS directly,
// which would bypass the atomic output. The index names the image with
// ref's tag (org.opencontainers.image.ref.name), so that
// `skopeo copy oci:DIR:TAG docker://REF` pushes it.
func WriteLayout(fsys afero.Fs, dir string, img v1.Image, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", ref, err)
	}
	tag := "latest"
	if t, ok := r.(name.Tag); ok {
		tag = t.TagStr()
	}
	w, err := layout.New(fsys, dir)
	if err != nil {
		return err
	}
	// Base layers are streamed from the registry and verified on the way.
	if err := w.Image(img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	size, err := img.Size()
	if err != nil {
		return err
	}
	return w.Index([]v1.Descriptor{{
		MediaType:   mt,
		Digest:      d,
		Size:        size,
		Annotations: map[string]string{layout.RefNameAnnotation: tag},
	}})
}

// Package catalog holds sovereign's built-in hardware and model figures and
// reads Hugging Face config.json files into the same Model type.
//
// The figures are data, not code: they live in data/hardware.hcl and
// data/models.hcl, embedded at build time, and every entry says in its Source
// where its numbers come from and which of them are unverified.
package catalog

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/hashicorp/hcl/v2/hclsimple"
)

var (
	//go:embed data/hardware.hcl
	hardwareHCL []byte
	//go:embed data/models.hcl
	modelsHCL []byte
)

// catalogs are the embedded catalogs, read once, when first needed.
type catalogs struct {
	hardware map[string]Hardware
	models   map[string]Model
}

var embedded = sync.OnceValues(func() (*catalogs, error) {
	hw, err := loadHardware("data/hardware.hcl", hardwareHCL)
	if err != nil {
		return nil, err
	}
	models, err := loadModels("data/models.hcl", modelsHCL)
	if err != nil {
		return nil, err
	}
	return &catalogs{hardware: hw, models: models}, nil
})

// Check says whether the embedded catalogs load. They are part of the
// binary, so a bad entry is a bug in sovereign, which the package's tests
// catch (TestEmbeddedCatalogsLoad); callers report it as such rather than
// as a blueprint that names an unknown entry. While it fails, every lookup
// finds nothing.
func Check() error {
	_, err := embedded()
	if err != nil {
		return fmt.Errorf("bug: sovereign's built-in catalog does not load: %w", err)
	}
	return nil
}

func loaded() *catalogs {
	c, err := embedded()
	if err != nil {
		return &catalogs{}
	}
	return c
}

// LookupHardware returns the built-in hardware entry with the given name.
func LookupHardware(name string) (Hardware, bool) {
	h, ok := loaded().hardware[name]
	return h, ok
}

// HardwareNames returns the names of the built-in hardware entries, sorted.
func HardwareNames() []string { return sortedKeys(loaded().hardware) }

// LookupModel returns the built-in model entry with the given name.
func LookupModel(name string) (Model, bool) {
	m, ok := loaded().models[name]
	return m, ok
}

// ModelNames returns the names of the built-in model entries, sorted.
func ModelNames() []string { return sortedKeys(loaded().models) }

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func loadHardware(filename string, src []byte) (map[string]Hardware, error) {
	var file struct {
		Hardware []Hardware `hcl:"hardware,block"`
	}
	if err := hclsimple.Decode(filename, src, nil, &file); err != nil {
		return nil, err
	}
	byName := make(map[string]Hardware, len(file.Hardware))
	for _, h := range file.Hardware {
		if _, dup := byName[h.Name]; dup {
			return nil, fmt.Errorf("%s: hardware %q is defined twice", filename, h.Name)
		}
		if err := h.validate(); err != nil {
			return nil, fmt.Errorf("%s: hardware %q: %w", filename, h.Name, err)
		}
		h.fill()
		byName[h.Name] = h
	}
	return byName, nil
}

func loadModels(filename string, src []byte) (map[string]Model, error) {
	var file struct {
		Models []Model `hcl:"model,block"`
	}
	if err := hclsimple.Decode(filename, src, nil, &file); err != nil {
		return nil, err
	}
	byName := make(map[string]Model, len(file.Models))
	for _, m := range file.Models {
		if _, dup := byName[m.Name]; dup {
			return nil, fmt.Errorf("%s: model %q is defined twice", filename, m.Name)
		}
		if err := m.validate(); err != nil {
			return nil, fmt.Errorf("%s: model %q: %w", filename, m.Name, err)
		}
		byName[m.Name] = m
	}
	return byName, nil
}

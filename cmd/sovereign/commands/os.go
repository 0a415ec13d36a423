package commands

import (
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/units"
)

// osBase is the os block's base as an image to lock, beside the units'.
func osBase(bp *spec.Blueprint) []*units.Image {
	if bp.OS == nil {
		return nil
	}
	return []*units.Image{{Ref: bp.OS.Base.Ref, Origin: bp.OS.Base.Range}}
}

package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// moduleBlock is the module block that brought b into the blueprint, or
// nil for a block of the blueprint's own files.
func (s *Source) ModuleBlock(b *hcl.Block) *hcl.Block {
	if ev, ok := s.Evals[b]; ok {
		return ev.calledBy
	}
	return nil
}

// duplicateBlock reports a block declared twice. When a side came from a
// module (one module called twice, or two modules declaring the same
// engine) both declarations may be one line of the module's file, so the
// message names the module blocks that collide, and points at the second.
func (s *Source) DuplicateBlock(what, name string, here, prev *hcl.Block, hereRange, prevRange hcl.Range) *hcl.Diagnostic {
	hereMod, prevMod := s.ModuleBlock(here), s.ModuleBlock(prev)
	if hereMod == nil && prevMod == nil {
		return DuplicateDiag(what, name, hereRange, prevRange)
	}
	by := func(mod *hcl.Block, at hcl.Range) string {
		if mod == nil {
			return fmt.Sprintf("the blueprint at %s", at)
		}
		return fmt.Sprintf("module %q at %s (declared at %s)", mod.Labels[0], mod.DefRange, at)
	}
	subject := hereRange
	if hereMod != nil {
		subject = hereMod.DefRange
	}
	hint := "Names must be unique."
	if hereMod != nil && prevMod != nil && hereMod.Labels[0] != prevMod.Labels[0] {
		hint = "Call the module once, or give the module a variable for the name."
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what,
		Detail:   fmt.Sprintf("%s %s named %q comes from %s and from %s. %s", article(what), what, name, by(hereMod, hereRange), by(prevMod, prevRange), hint),
		Subject:  subject.Ptr(),
	}
}

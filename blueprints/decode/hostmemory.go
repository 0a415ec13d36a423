package decode

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// osMemoryReserve is the host memory a CPU KV tier must leave free: the
// OS, Podman, the gateway and each engine's own process (Python, the CUDA
// context, tokenizers) live there. An engine allocates its tier as pinned
// memory at start, which cannot be swapped: more than is free and the
// kernel's OOM killer ends it, or another service, during the first start.
// A tenth of the memory, and at least 32 GiB.
func osMemoryReserve(total int64) int64 { return max(32<<30, total/10) }

// checkHostMemory refuses CPU KV tiers (cpu_kv_offload) that together need
// more host memory than the hardware has less the reserve, at the setting
// of the engine whose tier goes over.
func checkHostMemory(hw catalog.Hardware, engines []*spec.Engine, blocks map[*spec.Engine]*hcl.Block) hcl.Diagnostics {
	if hw.CPUMemoryBytes <= 0 {
		return nil // unknown: the plan says so
	}
	budget := hw.CPUMemoryBytes - osMemoryReserve(hw.CPUMemoryBytes)
	var diags hcl.Diagnostics
	var used int64
	var before []string
	for _, eng := range engines {
		if eng.CPUKVOffloadBytes <= 0 {
			continue
		}
		used += eng.CPUKVOffloadBytes
		if used > budget {
			need := fmt.Sprintf("Engine %q's CPU KV tier is %s", eng.Name, humanSize(eng.CPUKVOffloadBytes))
			if len(before) > 0 {
				need = fmt.Sprintf("Engine %q's CPU KV tier (%s) and those of %s need %s of host memory", eng.Name, humanSize(eng.CPUKVOffloadBytes), lang.QuoteList(before), humanSize(used))
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "CPU KV tier larger than the host's memory",
				Detail: fmt.Sprintf("%s, but %s has %s and the OS, Podman and the engines' own processes need %s of it, leaving %s. An engine pins its tier when it starts, and more than is free gets it killed. Lower cpu_kv_offload.",
					need, hw.Name, humanSize(hw.CPUMemoryBytes), humanSize(osMemoryReserve(hw.CPUMemoryBytes)), humanSize(budget)),
				Subject: attrRange(blocks[eng], "cpu_kv_offload").Ptr(),
			})
			used -= eng.CPUKVOffloadBytes // one error per engine that does not fit
			continue
		}
		before = append(before, eng.Name)
	}
	return diags
}

// attrRange is the range of an attribute's value in block b, or the
// block's header when it is not set there.
func attrRange(b *hcl.Block, name string) hcl.Range {
	if body, ok := b.Body.(*hclsyntax.Body); ok {
		if at, ok := body.Attributes[name]; ok {
			return at.Expr.Range()
		}
	}
	return b.DefRange
}

// humanSize is bytes in GiB (or MiB below one GiB), as people write sizes.
func humanSize(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

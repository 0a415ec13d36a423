package capacity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// int4GroupSize is the number of weights that share one scale and zero
// point in AWQ and GPTQ checkpoints: AutoAWQ's and GPTQ's usual
// q_group_size/group_size, and what published Qwen3 AWQ checkpoints use.
const int4GroupSize = 128

// int4GroupBytes is what each group adds: one fp16 scale (2 B) and one
// 4-bit zero point packed eight to an int32 (0.5 B).
const int4GroupBytes = 2 + 0.5

// unquantizedBytesPerParam is the size of the parameters quantized
// checkpoints leave in bf16: the input embedding and the lm_head. Only
// linear layers are quantized (AWQ, GPTQ, llm-compressor, modelopt, and
// vLLM's own --quantization fp8), and lm_head is excluded by convention.
const unquantizedBytesPerParam = 2

// weightFormat is how a checkpoint stores its parameters.
type weightFormat struct {
	name string
	// bytesPerParam includes the format's scales and zero points.
	bytesPerParam float64
	why           string
}

// weightFormats are the formats a blueprint may name, largest first; the
// advice for a plan that does not fit offers the smaller ones.
var weightFormats = []weightFormat{
	{
		name:          "bf16",
		bytesPerParam: 2,
		why:           "bf16 stores every parameter in 2 bytes",
	},
	{
		name:          "fp8",
		bytesPerParam: 1,
		why:           "fp8 stores 1 byte per parameter; its per-channel or 128×128-block scales add under 0.1% and are left out",
	},
	{
		name:          "nvfp4",
		bytesPerParam: 0.5 + 1.0/16,
		why:           "nvfp4 stores 4-bit values plus one fp8 scale per 16 of them: 0.5 + 1/16 B (the per-tensor fp32 scale is negligible)",
	},
	{
		name:          "awq-int4",
		bytesPerParam: 0.5 + int4GroupBytes/int4GroupSize,
		why:           fmt.Sprintf("awq-int4 stores 4-bit weights plus, per group of %d, an fp16 scale and a 4-bit zero point: 0.5 + %g/%d B", int4GroupSize, int4GroupBytes, int4GroupSize),
	},
	{
		name:          "gptq-int4",
		bytesPerParam: 0.5 + int4GroupBytes/int4GroupSize,
		why:           fmt.Sprintf("gptq-int4 stores 4-bit weights plus, per group of %d, an fp16 scale and a 4-bit zero point: 0.5 + %g/%d B (the act-order g_idx, ~0.1%%, is left out)", int4GroupSize, int4GroupBytes, int4GroupSize),
	},
}

func lookupWeightFormat(name string) (weightFormat, error) {
	names := make([]string, len(weightFormats))
	for i, f := range weightFormats {
		if f.name == name {
			return f, nil
		}
		names[i] = f.name
	}
	return weightFormat{}, fmt.Errorf("weights %q is not one of %s.%s", name, strings.Join(names, ", "), lang.Suggest(name, names))
}

// quantized reports whether the format stores the linear layers in fewer
// than 16 bits, leaving the embeddings in bf16.
func (f weightFormat) quantized() bool { return f.bytesPerParam < unquantizedBytesPerParam }

// weightsBytes is the GPU memory the model's weights take in this format.
// Every expert of an MoE model is resident, so it counts params_total.
func (f weightFormat) weightsBytes(m catalog.Model) int64 {
	if !f.quantized() {
		return int64(float64(m.ParamsTotal) * f.bytesPerParam)
	}
	embedding := min(m.EmbeddingParams(), m.ParamsTotal)
	quantized := float64(m.ParamsTotal-embedding) * f.bytesPerParam
	return int64(quantized) + embedding*unquantizedBytesPerParam
}

// decodeBytes is what one decode step reads from GPU memory at least: the
// active parameters in this format.
func (f weightFormat) decodeBytes(m catalog.Model) float64 {
	return float64(m.ParamsActive) * f.bytesPerParam
}

// kvDType is how an engine stores the KV cache (vLLM --kv-cache-dtype).
type kvDType = spec.KVCacheDType

// lookupKVDType finds a KV cache element type among those the engine kinds
// declare; "" is "auto". The decoder has already checked that the engine
// has it.
func lookupKVDType(name string) (kvDType, error) {
	if name == "" {
		name = "auto"
	}
	var names []string
	for _, k := range engines.All() {
		for _, d := range k.KVCacheDTypes {
			if d.Name == name {
				return d, nil
			}
			if !slices.Contains(names, d.Name) {
				names = append(names, d.Name)
			}
		}
	}
	return kvDType{}, fmt.Errorf("kv_cache_dtype %q is not one of %s", name, strings.Join(names, ", "))
}

package blueprints

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// engineAttributes are the settings every engine kind has.
var engineAttributes = []hcl.AttributeSchema{
	{Name: "model", Required: true},
	{Name: "image", Required: true},
	{Name: "port"},
	{Name: "served_model_name"},
	{Name: "start_timeout"},
	{Name: "api_key"},
	{Name: "environment"},
	{Name: "extra_args"},
	{Name: "min_sessions"},
}

// engineSchemas holds each engine kind's schema: the common settings plus its
// own. A setting another engine has but this one lacks is reported by hcl as
// an unsupported argument in this block, naming the engine kind.
var engineSchemas = map[string]*hcl.BodySchema{
	"vllm": {Attributes: append(append([]hcl.AttributeSchema(nil), engineAttributes...),
		hcl.AttributeSchema{Name: "max_model_len"},
		hcl.AttributeSchema{Name: "kv_cache_dtype"},
		hcl.AttributeSchema{Name: "gpu_memory_utilization"},
		hcl.AttributeSchema{Name: "quantization"},
		hcl.AttributeSchema{Name: "tensor_parallel_size"},
		hcl.AttributeSchema{Name: "enable_prefix_caching"},
		hcl.AttributeSchema{Name: "tool_call_parser"},
		hcl.AttributeSchema{Name: "reasoning_parser"},
		hcl.AttributeSchema{Name: "max_num_seqs"},
		hcl.AttributeSchema{Name: "cpu_kv_offload"},
	)},
}

// EngineKinds are the engine kinds a blueprint can use, sorted.
var EngineKinds = keysOf(engineSchemas)

// DefaultStartTimeout is how long an engine may take to become healthy. The
// first start pulls a ~10 GB image (half an hour on a slow uplink) and loads
// the model: a 235B model is over 100 GB read from disk, then compiled and
// captured into CUDA graphs, which takes tens of minutes more.
const DefaultStartTimeout = 2 * time.Hour

var (
	parserName = regexp.MustCompile(`^[a-z0-9_]+$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// vLLM's --kv-cache-dtype and --quantization values this version of sovereign
// renders. fp8 means fp8_e4m3 on CUDA.
var (
	vllmKVCacheDTypes = []string{"auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"}
	vllmQuantizations = []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"}
)

// quantizationFits says which --quantization methods can read which weight
// formats, so that a blueprint asking vLLM to read AWQ weights as GPTQ fails
// here, not after a 20-minute download and load.
var quantizationFits = map[string][]string{
	"awq":                {"awq-int4"},
	"awq_marlin":         {"awq-int4"},
	"gptq":               {"gptq-int4"},
	"gptq_marlin":        {"gptq-int4"},
	"fp8":                {"bf16", "fp8"},
	"compressed-tensors": {"fp8", "awq-int4", "gptq-int4", "nvfp4"},
	"modelopt":           {"fp8"},
	"modelopt_fp4":       {"nvfp4"},
}

func (e *evaluator) engine(b *hcl.Block, models map[string]*spec.Model, gpus int) (*spec.Engine, hcl.Diagnostics) {
	kind, name := b.Labels[0], b.Labels[1]
	schema, ok := engineSchemas[kind]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown engine kind",
			Detail:   fmt.Sprintf("%q is not an engine sovereign can run. Engines: %s.%s", kind, quoteList(EngineKinds), suggest(kind, EngineKinds)),
			Subject:  &b.LabelRanges[0],
		}}
	}
	content, diags := b.Body.Content(schema)
	if !blockName.MatchString(name) {
		diags = append(diags, invalidNameDiag("engine", name, b.LabelRanges[1]))
	}
	a := e.attrs(content)
	eng := &spec.Engine{Kind: kind, Name: name, DeclRange: b.DefRange}

	if ref, rng, ok := a.reference("model", "model", 1); ok {
		eng.ModelRange = rng
		eng.Model = models[ref[0]]
		if eng.Model == nil {
			a.errorf("model", "Reference to undeclared model", "No model named %q is declared.%s", ref[0], suggest(ref[0], keysOf(models)))
		}
	}
	eng.Image = spec.Image{Ref: a.str("image", ""), Range: a.rng("image", b.DefRange)}
	eng.Port = a.integer("port", 8000, 1024, 65535)
	eng.ServedModelName = a.str("served_model_name", "")
	if eng.ServedModelName == "" && eng.Model != nil {
		eng.ServedModelName = eng.Model.Name
	}
	eng.StartTimeout = a.duration("start_timeout", DefaultStartTimeout)
	eng.APIKey = a.secret("api_key")
	eng.Environment = a.stringMap("environment")
	for _, k := range keysOf(eng.Environment) {
		if !envName.MatchString(k) {
			a.errorf("environment", "Invalid environment variable name", "%q is not a valid environment variable name.", k)
		}
	}
	eng.ExtraArgs = a.strings("extra_args")
	eng.MinSessions = a.integer("min_sessions", 0, 1, 100000)
	eng.MinSessionsRange = a.rng("min_sessions", b.DefRange)

	switch kind {
	case "vllm":
		eng.VLLM = e.vllm(a, eng, gpus)
	}
	return eng, append(diags, a.diags...)
}

func (e *evaluator) vllm(a *attrs, eng *spec.Engine, gpus int) *spec.VLLM {
	v := &spec.VLLM{
		MaxModelLen:          a.integer("max_model_len", 0, 1, 10_000_000),
		KVCacheDType:         a.oneOf("kv_cache_dtype", "auto", vllmKVCacheDTypes...),
		GPUMemoryUtilization: a.fraction("gpu_memory_utilization", 0.9),
		Quantization:         a.str("quantization", ""),
		TensorParallelSize:   a.integer("tensor_parallel_size", max(gpus, 1), 1, 64),
		EnablePrefixCaching:  a.boolean("enable_prefix_caching", true),
		ToolCallParser:       a.str("tool_call_parser", ""),
		ReasoningParser:      a.str("reasoning_parser", ""),
		MaxNumSeqs:           a.integer("max_num_seqs", 0, 1, 65536),
		CPUKVOffloadBytes:    a.size("cpu_kv_offload"),
		MaxModelLenRange:     a.rng("max_model_len", eng.DeclRange),
	}
	if v.Quantization != "" {
		fits, known := quantizationFits[v.Quantization]
		switch {
		case !known:
			a.errorf("quantization", "Unsupported value", "quantization must be one of %s, not %q.%s", quoteList(vllmQuantizations), v.Quantization, suggest(v.Quantization, vllmQuantizations))
		case eng.Model != nil && eng.Model.Weights != "" && !contains(fits, eng.Model.Weights):
			a.errorf("quantization", "Quantization does not match the weights", "vLLM's %q method cannot read %s weights (model %q); it reads %s. Leave quantization unset to let vLLM detect it from the checkpoint.", v.Quantization, eng.Model.Weights, eng.Model.Name, quoteList(fits))
		}
	}
	if gpus > 0 && v.TensorParallelSize > gpus {
		a.errorf("tensor_parallel_size", "Not enough GPUs", "tensor_parallel_size is %d, but the hardware has %d GPU(s).", v.TensorParallelSize, gpus)
	}
	for _, p := range []string{"tool_call_parser", "reasoning_parser"} {
		if s := a.str(p, ""); s != "" && !parserName.MatchString(s) {
			a.errorf(p, "Invalid parser name", "%q is not a parser name: vLLM's parsers are lowercase words joined by underscores, such as \"hermes\" or \"qwen3\".", s)
		}
	}
	if m := eng.Model; m != nil && v.MaxModelLen > 0 && m.Architecture.MaxPositionEmbeddings > 0 && v.MaxModelLen > m.Architecture.MaxPositionEmbeddings {
		a.errorf("max_model_len", "Context longer than the model's", "max_model_len is %d, but %s was trained for at most %d tokens; vLLM refuses to start with a longer context.", v.MaxModelLen, m.Name, m.Architecture.MaxPositionEmbeddings)
	}
	return v
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

package blueprints

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// engineAttributes are the settings every engine kind has.
var engineAttributes = []string{
	"model", "image", "port", "served_model_name", "start_timeout",
	"api_key", "environment", "extra_args", "min_sessions",
}

// engineKind describes one engine: its own settings, spelled as the engine
// spells its flags, and what each common meaning is called there.
type engineKind struct {
	display string
	// names maps a common meaning to this engine's attribute name.
	names      map[string]string
	own        []string
	kvDTypes   []string
	quantize   []string
	decodeRest func(a *attrs, eng *spec.Engine)
}

// The meanings every engine has, under engine-specific names.
const (
	optMaxLen   = "max_len"
	optFraction = "fraction"
	optKVDType  = "kv_dtype"
	optQuant    = "quantization"
	optTP       = "tp"
	optTools    = "tools"
	optReason   = "reasoning"
	optOffload  = "offload"
)

var engineKinds = map[string]*engineKind{
	"vllm": {
		display: "vLLM",
		names: map[string]string{
			optMaxLen: "max_model_len", optFraction: "gpu_memory_utilization", optKVDType: "kv_cache_dtype",
			optQuant: "quantization", optTP: "tensor_parallel_size", optTools: "tool_call_parser",
			optReason: "reasoning_parser", optOffload: "cpu_kv_offload",
		},
		own: []string{"enable_prefix_caching", "max_num_seqs", "kv_offload_backend"},
		// fp8 means fp8_e4m3 on CUDA.
		kvDTypes: []string{"auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"},
		quantize: []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"},
		decodeRest: func(a *attrs, eng *spec.Engine) {
			eng.VLLM = &spec.VLLM{
				EnablePrefixCaching: a.boolean("enable_prefix_caching", true),
				MaxNumSeqs:          a.integer("max_num_seqs", 0, 1, 65536),
				KVOffloadBackend:    a.oneOf("kv_offload_backend", "native", "native", "lmcache"),
			}
			// The offloading shorthand flags came in v0.11.1; an older
			// vLLM would refuse to start after its image pull.
			if v, ok := releaseOf(eng.Image.Ref); ok && eng.CPUKVOffloadBytes > 0 && v.less(release{0, 11, 1}) {
				a.errorf("cpu_kv_offload", "Engine release too old for cpu_kv_offload", "The image is vLLM %s, which has no --kv-offloading-size (it came in v0.11.1). Use a newer release, or configure a KV connector yourself with extra_args.", v)
			}
		},
	},
	"sglang": {
		display: "SGLang",
		names: map[string]string{
			optMaxLen: "context_length", optFraction: "mem_fraction_static", optKVDType: "kv_cache_dtype",
			optQuant: "quantization", optTP: "tensor_parallel_size", optTools: "tool_call_parser",
			optReason: "reasoning_parser", optOffload: "cpu_kv_offload",
		},
		own:      []string{"max_running_requests"},
		kvDTypes: []string{"auto", "fp8_e4m3", "fp8_e5m2"},
		quantize: []string{"awq", "awq_marlin", "compressed-tensors", "fp8", "gptq", "gptq_marlin", "modelopt", "modelopt_fp4"},
		decodeRest: func(a *attrs, eng *spec.Engine) {
			eng.SGLang = &spec.SGLang{MaxRunningRequests: a.integer("max_running_requests", 0, 1, 65536)}
		},
	},
	"nim": {
		display: "NVIDIA NIM",
		// NIM picks its own parallelism and kernels from the profile; the
		// rest reaches its vLLM through NIM_PASSTHROUGH_ARGS.
		names: map[string]string{
			optMaxLen: "max_model_len", optFraction: "gpu_memory_utilization", optKVDType: "kv_cache_dtype",
		},
		own:      []string{"model_from", "model_profile", "air_gapped", "ngc_api_key"},
		kvDTypes: []string{"auto", "fp8"},
		decodeRest: func(a *attrs, eng *spec.Engine) {
			eng.NIM = &spec.NIM{
				ModelFrom:    a.oneOf("model_from", "store", "store", "image"),
				ModelProfile: a.str("model_profile", ""),
				AirGapped:    a.boolean("air_gapped", false),
				NGCAPIKey:    a.secret("ngc_api_key"),
			}
			if eng.APIKey != nil {
				a.errorf("api_key", "NIM checks no API key", "NVIDIA NIM has no API key setting; it listens on 127.0.0.1 only, behind the gateway.")
			}
			if eng.NIM.ModelFrom == "image" && !eng.NIM.AirGapped && eng.NIM.NGCAPIKey == nil {
				a.errorf("model_from", "NIM needs an NGC API key", `A NIM that takes its model from the image downloads it from NGC on first start: give ngc_api_key = secret_file("ngc.key"), or pre-fill the cache and set air_gapped = true.`)
			}
		},
	},
}

// EngineKinds are the engine kinds a blueprint can use, sorted.
var EngineKinds = keysOf(engineKinds)

func (k *engineKind) schema() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range engineAttributes {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n, Required: n == "model" || n == "image"})
	}
	for _, n := range keysOf(k.names) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: k.names[n]})
	}
	for _, n := range k.own {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// DefaultStartTimeout is how long an engine may take to become healthy. The
// first start pulls a ~10 GB image (half an hour on a slow uplink) and loads
// the model: a 235B model is over 100 GB read from disk, then compiled and
// captured into CUDA graphs, which takes tens of minutes more.
const DefaultStartTimeout = 2 * time.Hour

var (
	parserName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	unsupArg   = regexp.MustCompile(`An argument named "([^"]+)" is not expected here`)
)

// quantizationFits says which quantization methods can read which weight
// formats, so that a blueprint asking an engine to read AWQ weights as GPTQ
// fails here, not after a 20-minute download and load.
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
	kindName, name := b.Labels[0], b.Labels[1]
	kind, ok := engineKinds[kindName]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown engine kind",
			Detail:   fmt.Sprintf("%q is not an engine sovereign can run. Engines: %s.%s", kindName, quoteList(EngineKinds), suggest(kindName, EngineKinds)),
			Subject:  &b.LabelRanges[0],
		}}
	}
	content, diags := b.Body.Content(kind.schema())
	diags = explainUnsupported(diags, kindName, kind)
	if !blockName.MatchString(name) {
		diags = append(diags, invalidNameDiag("engine", name, b.LabelRanges[1]))
	}
	a := e.attrs(b, content)
	eng := &spec.Engine{Kind: kindName, Name: name, DeclRange: b.DefRange}

	if ref, rng, ok := a.reference("model", "model", 1); ok {
		eng.ModelRange = rng
		eng.Model = models[ref[0]]
		if eng.Model == nil {
			a.errorf("model", "Reference to undeclared model", "No model named %q is declared.%s", ref[0], suggest(ref[0], keysOf(models)))
		}
	}
	eng.Image = spec.Image{Ref: a.requiredStr("image"), Range: a.rng("image", b.DefRange)}
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

	n := kind.names
	if n[optMaxLen] != "" {
		eng.MaxModelLen = a.integer(n[optMaxLen], 0, 1, 10_000_000)
		eng.MaxModelLenRange = a.rng(n[optMaxLen], b.DefRange)
	}
	if n[optFraction] != "" {
		eng.MemoryFraction = a.fraction(n[optFraction], 0)
		eng.MemoryFractionRange = a.rng(n[optFraction], b.DefRange)
	}
	eng.KVCacheDType = a.oneOf(n[optKVDType], "auto", kind.kvDTypes...)
	eng.KVCacheDTypeRange = a.rng(n[optKVDType], b.DefRange)
	eng.TensorParallelSize = max(gpus, 1)
	if n[optTP] != "" {
		eng.TensorParallelSize = a.integer(n[optTP], max(gpus, 1), 1, 64)
		if gpus > 0 && eng.TensorParallelSize > gpus {
			a.errorf(n[optTP], "Not enough GPUs", "%s is %d, but the hardware has %d GPU(s).", n[optTP], eng.TensorParallelSize, gpus)
		}
	}
	if q := n[optQuant]; q != "" {
		eng.Quantization = a.str(q, "")
		checkQuantization(a, q, kind, eng)
	}
	for _, opt := range []string{optTools, optReason} {
		if p := n[opt]; p != "" {
			v := a.str(p, "")
			if v != "" && !parserName.MatchString(v) {
				a.errorf(p, "Invalid parser name", "%q is not a parser name: %s's parsers are lowercase words joined by underscores or dashes, such as \"hermes\" or \"qwen3\".", v, kind.display)
			}
			if opt == optTools {
				eng.ToolCallParser = v
			} else {
				eng.ReasoningParser = v
			}
		}
	}
	if n[optOffload] != "" {
		eng.CPUKVOffloadBytes = a.size(n[optOffload])
	}
	kind.decodeRest(a, eng)

	if m := eng.Model; m != nil && eng.MaxModelLen > 0 && m.Architecture.MaxPositionEmbeddings > 0 && eng.MaxModelLen > m.Architecture.MaxPositionEmbeddings {
		a.errorf(n[optMaxLen], "Context longer than the model's", "%s is %d, but %s was trained for at most %d tokens; %s refuses to start with a longer context.", n[optMaxLen], eng.MaxModelLen, m.Name, m.Architecture.MaxPositionEmbeddings, kind.display)
	}
	return eng, append(diags, a.diags...)
}

// release is an engine's semantic version, read from its image tag.
type release [3]int

var releaseTag = regexp.MustCompile(`:v?(\d+)\.(\d+)\.(\d+)`)

// releaseOf reads vX.Y.Z from an image reference's tag; ok is false when the
// tag does not say (a digest alone, "latest").
func releaseOf(ref string) (release, bool) {
	name, _, _ := strings.Cut(ref, "@")
	m := releaseTag.FindStringSubmatch(name)
	if m == nil {
		return release{}, false
	}
	var r release
	for i := range r {
		fmt.Sscan(m[i+1], &r[i])
	}
	return r, true
}

func (r release) less(o release) bool {
	for i := range r {
		if r[i] != o[i] {
			return r[i] < o[i]
		}
	}
	return false
}

func (r release) String() string { return fmt.Sprintf("v%d.%d.%d", r[0], r[1], r[2]) }

func checkQuantization(a *attrs, attr string, kind *engineKind, eng *spec.Engine) {
	if eng.Quantization == "" {
		return
	}
	fits, known := quantizationFits[eng.Quantization]
	switch {
	case !known || !slices.Contains(kind.quantize, eng.Quantization):
		a.errorf(attr, "Unsupported value", "%s must be one of %s, not %q.%s", attr, quoteList(kind.quantize), eng.Quantization, suggest(eng.Quantization, kind.quantize))
	case eng.Model != nil && eng.Model.Weights != "" && !slices.Contains(fits, eng.Model.Weights):
		a.errorf(attr, "Quantization does not match the weights", "%s's %q method cannot read %s weights (model %q); it reads %s. Leave quantization unset to let the engine detect it from the checkpoint.", kind.display, eng.Quantization, eng.Model.Weights, eng.Model.Name, quoteList(fits))
	}
}

// explainUnsupported rewrites hcl's "An argument named x is not expected
// here" for engine blocks: when another engine has x, or this engine has
// the same setting under another name, the message says so.
func explainUnsupported(diags hcl.Diagnostics, kindName string, kind *engineKind) hcl.Diagnostics {
	for _, d := range diags {
		m := unsupArg.FindStringSubmatch(d.Detail)
		if d.Summary != "Unsupported argument" || m == nil {
			continue
		}
		attr := m[1]
		var known []string
		for _, as := range kind.schema().Attributes {
			known = append(known, as.Name)
		}
		detail := fmt.Sprintf("%s (engine %q) has no setting %q.%s", kind.display, kindName, attr, suggest(attr, known))
		var elsewhere, equivalents []string
		for _, other := range EngineKinds {
			ok := engineKinds[other]
			if other == kindName {
				continue
			}
			for meaning, otherName := range ok.names {
				if otherName == attr {
					if own := kind.names[meaning]; own != "" {
						equivalents = append(equivalents, own)
					}
					elsewhere = append(elsewhere, other)
				}
			}
			if slices.Contains(ok.own, attr) {
				elsewhere = append(elsewhere, other)
			}
		}
		for _, own := range dedupe(equivalents) {
			detail += fmt.Sprintf(" Its %s equivalent is %q.", kind.display, own)
		}
		if len(elsewhere) > 0 {
			detail += fmt.Sprintf(" (%q is a setting of %s.)", attr, strings.Join(dedupe(elsewhere), " and "))
		}
		d.Detail = detail
	}
	return diags
}

func dedupe(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Package plan is sovereign's capacity planner: given a machine, a model,
// a weight format and the engine's settings, it works out what fits in GPU
// memory, how many people it serves at once, how fast it can decode at
// best, and what the power costs — before anything is built or downloaded.
//
// It automates the usual hand calculation: weights plus the KV cache per
// token against GPU memory, memory bandwidth over the bytes read per decoded
// token, and TDP over the hours of a month. Compute is pure: no I/O, no HCL, and the same
// Input always gives a byte-identical Plan. Every figure that is assumed
// rather than given is listed in Plan.Assumptions with the number it
// produced.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
)

// Input is what a plan is computed from: the blueprint's appliance, model
// and engine settings.
type Input struct {
	Hardware catalog.Hardware
	Model    catalog.Model
	// Weights is the checkpoint's format: bf16, fp8, awq-int4, gptq-int4 or nvfp4.
	Weights string
	// KVCacheDType is vLLM's --kv-cache-dtype: auto (= bf16, 2 bytes; also
	// when empty), bfloat16, fp8, fp8_e4m3 or fp8_e5m2.
	KVCacheDType string
	// GPUMemoryUtilization is the fraction of each GPU's memory the engine
	// may use; 0 means vLLM's default, 0.9.
	GPUMemoryUtilization float64
	// MaxModelLen is the longest sequence the engine accepts; 0 means the
	// model's max_position_embeddings, as vLLM defaults it.
	MaxModelLen int
	// CPUKVOffloadBytes is the KV cache tier in CPU memory; 0 for none.
	CPUKVOffloadBytes int64
	// ActivationReserveBytes is GPU memory per GPU the KV cache cannot use;
	// 0 means DefaultActivationReserveBytes.
	ActivationReserveBytes int64
	// TariffPerKWh is the electricity price in Currency per kWh; 0 means
	// the power is not costed.
	TariffPerKWh float64
	Currency     string
	// DutyCycle is the fraction of TDP drawn on average; 0 means 1.0, 24/7
	// at TDP, an upper bound.
	DutyCycle float64
	// Engine is the engine kind the tuning is for: "vllm" (also when
	// empty), "sglang" or "nim".
	Engine string
	// MaxNumSeqs and MaxNumBatchedTokens are the blueprint's engine
	// concurrency and batch budget; 0 lets the plan derive them (Tuning).
	MaxNumSeqs          int
	MaxNumBatchedTokens int
}

// DefaultActivationReserveBytes is the GPU memory per GPU held back for
// what vLLM's start-up profiling finds beside the weights: the activation
// peak of a max_num_batched_tokens forward pass (8192 tokens on GPUs of 70
// GiB and more), sampler buffers for up to 1024 sequences, CUDA graphs and
// non-torch allocations. Profiles of large models on one GPU typically
// report 2–4 GiB together; 4 GiB is the top of that range, so plans err
// towards fewer sessions. It is an estimate, not a measurement: calibrate it
// against the kv_cache_max_concurrency vLLM logs after profiling.
const DefaultActivationReserveBytes int64 = 4 << 30

// defaultGPUMemoryUtilization is vLLM's default --gpu-memory-utilization
// (v0.10 to v0.16).
const defaultGPUMemoryUtilization = 0.9

// blockTokens is vLLM's default KV block size: the cache is allocated in
// blocks of 16 tokens, and a sequence occupies whole blocks.
const blockTokens = 16

// hoursPerMonth is 8760 hours a year over 12 months.
const hoursPerMonth = 730

// standardContexts are the context lengths every plan reports sessions at,
// a short, a long and a very long conversation: 8K, 32K and 128K tokens.
var standardContexts = []int{8192, 32768, 131072}

// maxContext bounds max_model_len far above any model's context (Llama 4
// Scout's is 10M tokens) and far below where block arithmetic overflows.
const maxContext = 1 << 30

// maxParams bounds a model's size so that byte counts stay far inside an
// int64; a quadrillion parameters is 1000 times Kimi-K2.
const maxParams = 1e15

// Plan is the capacity plan: the JSON contract README documents, in its order,
// plus the assumptions behind it.
type Plan struct {
	Hardware HardwareSummary `json:"hardware"`
	Model    ModelSummary    `json:"model"`
	// WeightsBytes is the GPU memory the weights take.
	WeightsBytes int64 `json:"weights_bytes"`
	// KVBudgetBytes is the GPU memory left for the KV cache, at least 0.
	KVBudgetBytes int64 `json:"kv_budget_bytes"`
	// KVTokens is how many tokens of KV cache fit in the budget, in whole
	// 16-token blocks as vLLM allocates them.
	KVTokens int64 `json:"kv_tokens"`
	// CPUKVTokens is how many more fit in the CPU memory tier.
	CPUKVTokens int64 `json:"cpu_kv_tokens"`
	// Sessions is how many sequences of each context length fit at once.
	Sessions Sessions `json:"sessions"`
	// DecodeTokensPerSCeiling is the bandwidth-bound upper limit on one
	// stream's decode speed: GPU bandwidth ÷ active weight bytes.
	DecodeTokensPerSCeiling float64 `json:"decode_tokens_per_s_ceiling"`
	// Throughput estimates decode per person at 1, 8 and 32 people and
	// prefill, with the model behind each figure.
	Throughput Throughput `json:"throughput"`
	// Tuning is the engine concurrency and batch budget for the command
	// line: derived from the plan unless the blueprint gives them.
	Tuning Tuning `json:"tuning"`
	// Fits is false when the weights exceed the usable GPU memory or the
	// KV budget cannot hold one MaxModelLen sequence; Advice says what would.
	Fits     bool     `json:"fits"`
	Warnings []string `json:"warnings"`
	Power    Power    `json:"power"`
	// Monitoring is what the metrics block's services take from the host;
	// nil without one.
	Monitoring *Monitoring `json:"monitoring,omitempty"`
	// Assumptions lists every figure the plan assumed, with its value and
	// the number it produced.
	Assumptions []Assumption `json:"assumptions"`

	// MaxModelLen is the context length the plan was made for; Sessions
	// has an entry for it.
	MaxModelLen int `json:"-"`

	advice  string
	details details
}

// HardwareSummary is the plan's "hardware" object. Memory and bandwidth are
// per GPU, as in the catalog.
type HardwareSummary struct {
	Name                  string  `json:"name"`
	Arch                  string  `json:"arch"`
	GPUMemoryBytes        int64   `json:"gpu_memory_bytes"`
	GPUBandwidthBytesPerS float64 `json:"gpu_bandwidth_bytes_per_s"`
	CPUMemoryBytes        int64   `json:"cpu_memory_bytes"`
	TDPWatts              int     `json:"tdp_watts"`
}

// ModelSummary is the plan's "model" object. KVBytesPerToken is at the
// plan's KV cache dtype.
type ModelSummary struct {
	Name            string `json:"name"`
	ParamsTotal     int64  `json:"params_total"`
	ParamsActive    int64  `json:"params_active"`
	Layers          int    `json:"layers"`
	KVBytesPerToken int64  `json:"kv_bytes_per_token"`
}

// Power is the plan's "power" object. CostPerMonth is null when no tariff
// was given.
type Power struct {
	Watts        float64  `json:"watts"`
	KWhPerMonth  float64  `json:"kwh_per_month"`
	CostPerMonth *float64 `json:"cost_per_month"`
}

// Monitoring is the plan's "monitoring" object: the memory and cores the
// monitoring services may take at most (their units' limits), and the disk
// Prometheus fills over its retention.
type Monitoring struct {
	MemoryBytes int64   `json:"memory_bytes"`
	CPUCores    float64 `json:"cpu_cores"`
	Series      int     `json:"series"`
	DiskBytes   int64   `json:"disk_bytes"`
}

// Assumption is one figure the plan assumed: its name, its value, and why
// it holds, with the number it produced.
type Assumption struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Why   string `json:"why"`
}

// Advice is a one-line suggestion of what would fit when the plan does not
// ("" when it fits), e.g. "fp8 weights (236.2 GB) leave 0 B of KV cache …;
// use awq-int4 (35 sessions) or nvfp4 (32 sessions)".
func (p *Plan) Advice() string { return p.advice }

// SessionsAtMaxModelLen is how many MaxModelLen sequences fit at once: the
// most an engine's --max-num-seqs should allow at full length.
func (p *Plan) SessionsAtMaxModelLen() int {
	n, _ := p.Sessions.At(p.MaxModelLen)
	return n
}

// details are the plan's intermediate figures, kept for WriteTable.
type details struct {
	weights             weightFormat
	kv                  kvDType
	gpus                int
	utilization         float64
	usableBytes         int64
	reserveBytes        int64 // across all GPUs
	kvBytesPerToken     int64 // across all GPUs, as allocated
	cpuKVOffloadBytes   int64
	decodeBytesPerToken float64
	bandwidth           float64 // across all GPUs
	dutyCycle           float64
	tariff              float64
	currency            string
}

// settings is a validated Input with its defaults filled in.
type settings struct {
	Input
	format      weightFormat
	kv          kvDType
	gpus        int // the tensor-parallel size: one engine spans every GPU
	defaulted   map[string]bool
	maxModelLen int
}

// Compute works out the capacity plan for in. It fails only when in is
// invalid (an unknown weight format, a utilization above 1, a model without
// dimensions…); a plan that does not fit is a Plan with Fits false.
func Compute(in Input) (*Plan, error) {
	s, err := resolve(in)
	if err != nil {
		return nil, err
	}
	hw, m := s.Hardware, s.Model

	weights := s.format.weightsBytes(m)
	budget, blocks := s.kvCapacity(weights, s.kv)
	kvPerToken := s.kvBytesPerToken(s.kv)

	p := &Plan{
		Hardware: HardwareSummary{
			Name:                  hw.Name,
			Arch:                  hw.Arch,
			GPUMemoryBytes:        hw.GPUMemoryBytes,
			GPUBandwidthBytesPerS: hw.GPUBandwidthBytesPerS,
			CPUMemoryBytes:        hw.CPUMemoryBytes,
			TDPWatts:              hw.TDPWatts,
		},
		Model: ModelSummary{
			Name:            m.Name,
			ParamsTotal:     m.ParamsTotal,
			ParamsActive:    m.ParamsActive,
			Layers:          m.Layers,
			KVBytesPerToken: m.KVBytesPerToken(s.kv.Bytes),
		},
		WeightsBytes:  weights,
		KVBudgetBytes: budget,
		KVTokens:      blocks * blockTokens,
		CPUKVTokens:   s.CPUKVOffloadBytes / kvPerToken,
		MaxModelLen:   s.maxModelLen,
		Warnings:      []string{},
	}
	for _, ctx := range s.contexts() {
		p.Sessions = append(p.Sessions, ContextSessions{ContextTokens: ctx, Sessions: sessionsAt(blocks, ctx)})
	}

	bandwidth := hw.GPUBandwidthBytesPerS * float64(s.gpus)
	decodeBytes := s.format.decodeBytes(m)
	p.DecodeTokensPerSCeiling = roundTo(bandwidth/decodeBytes, 1)
	p.Throughput = s.throughput(s.throughputContext(), blocks)
	p.Tuning = s.tuning(blocks)

	watts := float64(hw.TDPWatts) * s.DutyCycle
	p.Power = Power{Watts: watts, KWhPerMonth: roundTo(watts*hoursPerMonth/1000, 2)}
	if s.TariffPerKWh > 0 {
		cost := roundTo(p.Power.KWhPerMonth*s.TariffPerKWh, 2)
		p.Power.CostPerMonth = &cost
	}

	p.details = details{
		weights:             s.format,
		kv:                  s.kv,
		gpus:                s.gpus,
		utilization:         s.GPUMemoryUtilization,
		usableBytes:         s.usableBytes(),
		reserveBytes:        s.reserveBytes(),
		kvBytesPerToken:     kvPerToken,
		cpuKVOffloadBytes:   s.CPUKVOffloadBytes,
		decodeBytesPerToken: decodeBytes,
		bandwidth:           bandwidth,
		dutyCycle:           s.DutyCycle,
		tariff:              s.TariffPerKWh,
		currency:            s.Currency,
	}
	p.Fits = weights <= s.usableBytes() && p.SessionsAtMaxModelLen() >= 1
	if !p.Fits {
		p.advice = s.advice(p)
	}
	p.Warnings = s.warnings(p)
	p.Assumptions = s.assumptions(p)
	return p, nil
}

// resolve validates in and fills in its defaults.
func resolve(in Input) (settings, error) {
	s := settings{Input: in, defaulted: map[string]bool{}}
	var errs []error
	var err error
	if s.format, err = lookupWeightFormat(in.Weights); err != nil {
		errs = append(errs, err)
	}
	if s.kv, err = lookupKVDType(in.KVCacheDType); err != nil {
		errs = append(errs, err)
	}

	hw, m := in.Hardware, in.Model
	if hw.GPUs < 1 || hw.GPUMemoryBytes <= 0 || hw.GPUBandwidthBytesPerS <= 0 || hw.TDPWatts < 0 {
		errs = append(errs, fmt.Errorf("hardware %q needs at least one GPU with memory and bandwidth", hw.Name))
	}
	s.gpus = max(hw.GPUs, 1)
	if m.Layers <= 0 || m.KVBytesPerToken(1) <= 0 {
		errs = append(errs, fmt.Errorf("model %q has no layers or no KV cache dimensions", m.Name))
	}
	if m.ParamsTotal <= 0 || m.ParamsActive <= 0 || m.ParamsActive > m.ParamsTotal || m.ParamsTotal > maxParams {
		errs = append(errs, fmt.Errorf("model %q needs 0 < params_active ≤ params_total ≤ 1e15 (got %d and %d)", m.Name, m.ParamsActive, m.ParamsTotal))
	}

	switch u := in.GPUMemoryUtilization; {
	case u == 0:
		s.GPUMemoryUtilization = defaultGPUMemoryUtilization
		s.defaulted["gpu_memory_utilization"] = true
	case u < 0 || u > 1 || math.IsNaN(u):
		errs = append(errs, fmt.Errorf("gpu_memory_utilization %g is not in (0, 1]", u))
	}
	switch n := in.MaxModelLen; {
	case n < 0:
		errs = append(errs, fmt.Errorf("max_model_len %d is negative", n))
	case n > maxContext:
		errs = append(errs, fmt.Errorf("max_model_len %d is more than %d tokens", n, maxContext))
	case n == 0 && m.MaxPositionEmbeddings <= 0:
		errs = append(errs, fmt.Errorf("max_model_len is unset and model %q has no max_position_embeddings to default it to", m.Name))
	case n == 0:
		s.maxModelLen = m.MaxPositionEmbeddings
		s.defaulted["max_model_len"] = true
	default:
		s.maxModelLen = n
	}
	switch r := in.ActivationReserveBytes; {
	case r < 0:
		errs = append(errs, fmt.Errorf("activation reserve %d is negative", r))
	case r == 0:
		s.ActivationReserveBytes = DefaultActivationReserveBytes
		s.defaulted["activation_reserve_bytes"] = true
	}
	switch d := in.DutyCycle; {
	case d == 0:
		s.DutyCycle = 1
		s.defaulted["duty_cycle"] = true
	case d < 0 || d > 1 || math.IsNaN(d):
		errs = append(errs, fmt.Errorf("duty cycle %g is not in (0, 1]", d))
	}
	if in.MaxNumSeqs < 0 || in.MaxNumBatchedTokens < 0 {
		errs = append(errs, fmt.Errorf("max_num_seqs %d and max_num_batched_tokens %d must not be negative", in.MaxNumSeqs, in.MaxNumBatchedTokens))
	}
	if in.CPUKVOffloadBytes < 0 {
		errs = append(errs, fmt.Errorf("cpu_kv_offload %d is negative", in.CPUKVOffloadBytes))
	}
	if in.TariffPerKWh < 0 || math.IsNaN(in.TariffPerKWh) || math.IsInf(in.TariffPerKWh, 0) {
		errs = append(errs, fmt.Errorf("tariff %g per kWh is not a price", in.TariffPerKWh))
	}
	return s, errors.Join(errs...)
}

// usableBytes is the GPU memory the engine may use: each GPU's memory
// times gpu_memory_utilization, as vLLM requests it.
func (s settings) usableBytes() int64 {
	return int64(s.gpus) * int64(math.Round(float64(s.Hardware.GPUMemoryBytes)*s.GPUMemoryUtilization))
}

// reserveBytes is the activation reserve across all GPUs.
func (s settings) reserveBytes() int64 { return int64(s.gpus) * s.ActivationReserveBytes }

// kvBytesPerToken is the KV cache one token takes across all GPUs as vLLM
// allocates it. With tensor parallelism each GPU holds max(1,
// kv_heads/GPUs) KV heads, so heads are copied when there are more GPUs
// than KV heads; an MLA latent is copied to every GPU.
func (s settings) kvBytesPerToken(kv kvDType) int64 {
	perToken := s.Model.KVBytesPerToken(kv.Bytes)
	if s.gpus == 1 {
		return perToken
	}
	if s.Model.IsMLA() {
		return perToken * int64(s.gpus)
	}
	headsPerGPU := max(1, s.Model.KVHeads/s.gpus)
	return perToken / int64(s.Model.KVHeads) * int64(headsPerGPU*s.gpus)
}

// kvCapacity is the KV budget left beside weights of the given size, and
// the whole 16-token blocks it holds at the given KV dtype.
func (s settings) kvCapacity(weights int64, kv kvDType) (budget, blocks int64) {
	budget = max(s.usableBytes()-weights-s.reserveBytes(), 0)
	return budget, budget / (s.kvBytesPerToken(kv) * blockTokens)
}

// sessionsAt is how many sequences of ctx tokens fit in blocks KV blocks,
// each sequence rounded up to whole blocks.
func sessionsAt(blocks int64, ctx int) int {
	perSequence := int64((ctx + blockTokens - 1) / blockTokens)
	return int(blocks / perSequence)
}

// contexts are the context lengths the plan reports: the standard ones and
// max_model_len, ascending.
func (s settings) contexts() []int {
	ctxs := slices.Clone(standardContexts)
	if !slices.Contains(ctxs, s.maxModelLen) {
		ctxs = append(ctxs, s.maxModelLen)
		slices.Sort(ctxs)
	}
	return ctxs
}

// roundTo rounds x to the given number of decimal places, so that JSON
// shows 350.4 rather than 350.40000000000003.
func roundTo(x float64, places int) float64 {
	scale := math.Pow(10, float64(places))
	return math.Round(x*scale) / scale
}

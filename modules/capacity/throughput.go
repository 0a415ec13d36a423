package capacity

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
)

// Throughput is the plan's speed estimate per scenario: decode for one
// stream and for 8 and 32 people at once, and prefill. Decode is bound by
// memory bandwidth: each step reads the weights its batch routes to and
// every sequence's KV cache, once. Prefill is bound by compute. Both are
// estimates from first principles that leave out kernel efficiency,
// scheduling and the attention arithmetic of decode; calibrate them
// against the engine's own metrics (vllm:inter_token_latency_seconds,
// prompt and generation token counters).
type Throughput struct {
	// ContextTokens is the context every scenario's sequences hold.
	ContextTokens int `json:"context_tokens"`
	// BandwidthBytesPerS is the achievable HBM bandwidth the estimates
	// divide by, beside the datasheet's ceiling.
	BandwidthBytesPerS          float64          `json:"bandwidth_bytes_per_s"`
	BandwidthDatasheetBytesPerS float64          `json:"bandwidth_datasheet_bytes_per_s"`
	Decode                      []DecodeScenario `json:"decode"`
	// PrefillTokensPerS is the compute-bound prompt rate of one prompt of
	// ContextTokens; 0 when the catalog has no compute figure for the GPU.
	PrefillTokensPerS   float64 `json:"prefill_tokens_per_s"`
	PrefillFLOPPerToken float64 `json:"prefill_flop_per_token"`
	// PrefillFLOPS is the dense tensor-core throughput used, in the
	// precision the weights compute in (PrefillPrecision).
	PrefillFLOPS     float64 `json:"prefill_flops"`
	PrefillPrecision string  `json:"prefill_precision"`
}

// DecodeScenario is one concurrency's decode estimate.
type DecodeScenario struct {
	Users int `json:"users"`
	// WeightBytesPerStep is what one decode step reads of the weights: for
	// an MoE model, the experts the batch's tokens route to.
	WeightBytesPerStep int64 `json:"weight_bytes_per_step"`
	// KVBytesPerStep is every sequence's KV cache at the context.
	KVBytesPerStep    int64   `json:"kv_bytes_per_step"`
	TokensPerSPerUser float64 `json:"tokens_per_s_per_user"`
	TokensPerSTotal   float64 `json:"tokens_per_s_total"`
	// Fits is false when the KV cache cannot hold Users sequences of the
	// context: the estimate then describes a machine that would queue.
	Fits bool `json:"fits"`
}

// scenarioUsers are the concurrencies every plan estimates: one stream, a
// handful of people and a busy collective.
var scenarioUsers = []int{1, 8, 32}

// throughput estimates decode and prefill speed at ctx tokens of context.
func (s settings) throughput(ctx int, blocks int64) Throughput {
	hw := s.Hardware
	bw, _ := hw.AchievableBandwidth()
	bw *= float64(s.gpus)
	t := Throughput{
		ContextTokens:               ctx,
		BandwidthBytesPerS:          math.Round(bw),
		BandwidthDatasheetBytesPerS: hw.GPUBandwidthBytesPerS * float64(s.gpus),
	}
	kvPerSequence := s.kvBytesPerToken(s.kv) * int64(ctx)
	for _, users := range scenarioUsers {
		weights := s.weightBytesPerStep(users)
		kv := kvPerSequence * int64(users)
		step := float64(weights+kv) / bw
		t.Decode = append(t.Decode, DecodeScenario{
			Users:              users,
			WeightBytesPerStep: weights,
			KVBytesPerStep:     kv,
			TokensPerSPerUser:  roundTo(1/step, 1),
			TokensPerSTotal:    roundTo(float64(users)/step, 1),
			Fits:               sessionsAt(blocks, ctx) >= users,
		})
	}
	t.PrefillPrecision, t.PrefillFLOPS = s.prefillCompute()
	t.PrefillFLOPS *= float64(s.gpus)
	t.PrefillFLOPPerToken = s.prefillFLOPPerToken(ctx)
	if t.PrefillFLOPS > 0 {
		t.PrefillTokensPerS = math.Round(t.PrefillFLOPS / t.PrefillFLOPPerToken)
	}
	return t
}

// expertsRead is how many of an MoE layer's experts a decode step of
// users tokens reads, when each token picks its experts independently and
// uniformly: experts × (1 − (1 − k/experts)^users). One token reads k; a
// large batch reads them all.
func expertsRead(m catalog.Model, users int) float64 {
	e, k := float64(m.Experts), float64(m.ExpertsPerToken)
	return e * (1 - math.Pow(1-k/e, float64(users)))
}

// weightBytesPerStep is what one decode step of a batch of users reads
// from the weights: the always-active parameters (attention, dense and
// shared MLPs, norms) in the weight format, the output head (bf16 in a
// quantized checkpoint), and each routed expert the batch uses. The input
// embedding is a lookup of one row per token and is left out.
func (s settings) weightBytesPerStep(users int) int64 {
	m, bpp := s.Model, s.format.bytesPerParam
	head := int64(m.Vocab) * int64(m.Hidden)
	input := head
	if m.TiedEmbeddings {
		input = 0
	}
	headBytes := float64(head) * bpp
	if s.format.quantized() {
		headBytes = float64(head) * unquantizedBytesPerParam
	}
	expert := int64(0)
	if m.Experts > 0 && m.MoELayers > 0 {
		expert = 3 * int64(m.Hidden) * int64(m.MoEIntermediate) * int64(m.MoELayers)
	}
	always := max(m.ParamsActive-input-head-int64(m.ExpertsPerToken)*expert, 0)
	experts := 0.0
	if expert > 0 {
		experts = expertsRead(m, users) * float64(expert) * bpp
	}
	return int64(float64(always)*bpp + headBytes + experts)
}

// prefillCompute is the tensor-core precision the weight format computes
// in, and the GPU's dense throughput in it. fp8 checkpoints run fp8 GEMMs;
// the 4-bit AWQ and GPTQ kernels vLLM uses (Marlin) are W4A16, computing
// in 16 bits; nvfp4 is taken at the fp8 rate, below what Blackwell's fp4
// tensor cores reach, as the catalog has no fp4 figure.
func (s settings) prefillCompute() (string, float64) {
	switch s.format.name {
	case "fp8", "nvfp4":
		return "fp8", s.Hardware.GPUDenseFP8FLOPS
	}
	return "bf16", s.Hardware.GPUDenseBF16FLOPS
}

// prefillFLOPPerToken is the arithmetic of one prompt token in a prompt of
// ctx tokens: 2 FLOP per active parameter, plus causal attention, whose
// QKᵀ and AV products cost on average ctx × (qk_dim + v_dim) FLOP per head
// and layer for each token.
func (s settings) prefillFLOPPerToken(ctx int) float64 {
	m := s.Model
	qk, v := m.HeadDim, m.HeadDim
	if m.IsMLA() {
		qk, v = m.QKNopeHeadDim+m.QKRopeHeadDim, m.VHeadDim
	}
	attention := float64(m.Layers) * float64(m.AttentionHeads) * float64(qk+v) * float64(ctx)
	return 2*float64(m.ParamsActive) + attention
}

// throughputContext is the context the throughput scenarios assume: half
// of max_model_len, a conversation half-way to its limit.
func (s settings) throughputContext() int { return max(s.maxModelLen/2, 1) }

// throughputAssumptions explain the throughput table's figures.
func (s settings) throughputAssumptions(p *Plan, add func(name, value, why string, args ...any)) {
	t := p.Throughput
	hw := s.Hardware
	if bw, measured := hw.AchievableBandwidth(); measured {
		add("achievable_bandwidth_bytes_per_s", formatFloat(bw),
			"measured streaming reads on this GPU, %.0f%% of the datasheet's %s: the decode estimates divide by it", 100*bw/hw.GPUBandwidthBytesPerS, humanRate(hw.GPUBandwidthBytesPerS))
	} else {
		add("achievable_bandwidth_bytes_per_s", formatFloat(math.Round(bw)),
			"unmeasured on this GPU: the datasheet's %s × %.3f, the share streaming reads achieved on a measured H200 (4.17 of 4.8 TB/s)", humanRate(hw.GPUBandwidthBytesPerS), catalog.AchievableBandwidthFraction)
	}
	add("throughput_context_tokens", strconv.Itoa(t.ContextTokens),
		"half of max_model_len: every scenario's sequences hold this much context, and each decode step reads all of its KV cache (%s per sequence)", humanBytes(t.Decode[0].KVBytesPerStep))
	if s.Model.Experts > 0 {
		var read []string
		for _, d := range t.Decode {
			read = append(read, fmt.Sprintf("%.1f at %d", expertsRead(s.Model, d.Users), d.Users))
		}
		add("experts_read_per_step", orList(read),
			"of %d experts per MoE layer, with each token routing to %d independently and uniformly: a batch reads experts × (1 − (1 − k/experts)^users), so at 32 people a step reads most of the model", s.Model.Experts, s.Model.ExpertsPerToken)
	}
	if t.PrefillFLOPS > 0 {
		add("prefill_flops", formatFloat(t.PrefillFLOPS),
			"the GPU's dense %s tensor-core throughput from the catalog, which %s weights compute in; ÷ %.1f GFLOP per token (2 per active parameter plus causal attention over a %d-token prompt) = %.0f tokens/s, a ceiling at full tensor-core use",
			t.PrefillPrecision, s.format.name, t.PrefillFLOPPerToken/1e9, t.ContextTokens, t.PrefillTokensPerS)
	} else {
		add("prefill_flops", "unknown", "the catalog has no %s compute figure for %s, so prefill is not estimated", t.PrefillPrecision, hw.Name)
	}
}

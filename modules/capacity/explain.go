package capacity

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
)

// minComfortableSessions is the fewest full-length sessions a plan may
// serve without a warning: a small collective has 5–15 people active at
// once, so fewer than 4 means people queue.
const minComfortableSessions = 4

// bigModelParams is the size from which a 16-bit KV cache earns a warning:
// at 100B parameters and more, weights crowd the KV budget and fp8 KV
// doubles the sessions at little quality cost.
const bigModelParams = 100e9

// advice is the one-line suggestion for a plan that does not fit: what is
// wrong, then every change that would make one max_model_len sequence fit.
func (s settings) advice(p *Plan) string {
	usable := s.usableBytes()
	weightsFit := p.WeightsBytes <= usable
	var problem string
	if weightsFit {
		problem = fmt.Sprintf("%s weights (%s) leave %s of KV cache (%s usable − %s activation reserve): %s at %d tokens",
			s.format.name, humanBytes(p.WeightsBytes), humanBytes(p.KVBudgetBytes), humanBytes(usable),
			humanBytes(s.reserveBytes()), sessions(p.SessionsAtMaxModelLen()), s.maxModelLen)
	} else {
		problem = fmt.Sprintf("%s weights (%s) exceed the %s of GPU memory usable at gpu_memory_utilization %g",
			s.format.name, humanBytes(p.WeightsBytes), humanBytes(usable), s.GPUMemoryUtilization)
	}

	// Smaller weight formats, most sessions first; gptq-int4 is the same
	// size as awq-int4, so only the first of equal sizes is offered.
	type option struct {
		format   string
		sessions int
	}
	var smaller []option
	var sizes []float64
	for _, f := range weightFormats {
		if f.bytesPerParam >= s.format.bytesPerParam || slices.Contains(sizes, f.bytesPerParam) {
			continue
		}
		sizes = append(sizes, f.bytesPerParam)
		_, blocks := s.kvCapacity(f.weightsBytes(s.Model), s.kv)
		if n := sessionsAt(blocks, s.maxModelLen); n >= 1 {
			smaller = append(smaller, option{format: f.name, sessions: n})
		}
	}
	slices.SortStableFunc(smaller, func(a, b option) int { return cmp.Compare(b.sessions, a.sessions) })
	var fixes []string
	for _, o := range smaller {
		fixes = append(fixes, fmt.Sprintf("%s weights (%s)", o.format, sessions(o.sessions)))
	}
	if weightsFit && s.kv.Bytes > 1 {
		fp8, _ := lookupKVDType("fp8")
		_, blocks := s.kvCapacity(p.WeightsBytes, fp8)
		if n := sessionsAt(blocks, s.maxModelLen); n >= 1 {
			fixes = append(fixes, fmt.Sprintf("kv_cache_dtype fp8 (%s)", sessions(n)))
		}
	}
	if weightsFit && p.KVTokens >= blockTokens {
		fixes = append(fixes, fmt.Sprintf("max_model_len ≤ %d (1 session)", p.KVTokens))
	}
	if len(fixes) > 0 {
		return problem + "; use " + orList(fixes)
	}

	smallest := weightFormats[0]
	for _, f := range weightFormats {
		if f.bytesPerParam < smallest.bytesPerParam {
			smallest = f
		}
	}
	if need := smallest.weightsBytes(s.Model); need > usable {
		return fmt.Sprintf("%s; no weight format fits: even %s needs %s; use a smaller model or hardware with more GPU memory",
			problem, smallest.name, humanBytes(need))
	}
	return fmt.Sprintf("%s; no weight format leaves room for one %d-token sequence; use a smaller model or hardware with more GPU memory",
		problem, s.maxModelLen)
}

// warnings are the plan's caveats, in a fixed order.
func (s settings) warnings(p *Plan) []string {
	hw, m := s.Hardware, s.Model
	warnings := []string{}
	if !p.Fits {
		warnings = append(warnings, "does not fit: "+p.advice)
	}

	gpuMemory := int64(s.gpus) * hw.GPUMemoryBytes
	if p.WeightsBytes > gpuMemory {
		switch {
		case hw.CPUMemoryBytes == 0:
			warnings = append(warnings, fmt.Sprintf("%s weights (%s) exceed the %s of GPU memory",
				s.format.name, humanBytes(p.WeightsBytes), humanBytes(gpuMemory)))
		case p.WeightsBytes > gpuMemory+hw.CPUMemoryBytes:
			warnings = append(warnings, fmt.Sprintf("%s weights (%s) exceed GPU and CPU memory together (%s): %s cannot hold %s",
				s.format.name, humanBytes(p.WeightsBytes), humanBytes(gpuMemory+hw.CPUMemoryBytes), hw.Name, m.Name))
		default:
			slower := ""
			if hw.CPUBandwidthBytesPerS > 0 {
				slower = fmt.Sprintf(", %.0f× slower than GPU memory", hw.GPUBandwidthBytesPerS/hw.CPUBandwidthBytesPerS)
			}
			warnings = append(warnings, fmt.Sprintf("%s weights (%s) exceed the %s of GPU memory; only offloading weights to CPU memory (vLLM --cpu-offload-gb, %s%s) could hold them, and this plan does not model that",
				s.format.name, humanBytes(p.WeightsBytes), humanBytes(gpuMemory), humanBytes(hw.CPUMemoryBytes), slower))
		}
	}

	atMax := p.SessionsAtMaxModelLen()
	if atMax >= 1 && atMax < minComfortableSessions {
		warnings = append(warnings, fmt.Sprintf("room for only %s at max_model_len %d: with more people active at once, the rest wait",
			sessions(atMax), s.maxModelLen))
	}
	if s.kv.Bytes > 1 && m.ParamsTotal >= bigModelParams && p.WeightsBytes <= s.usableBytes() {
		fp8, _ := lookupKVDType("fp8")
		_, blocks := s.kvCapacity(p.WeightsBytes, fp8)
		warnings = append(warnings, fmt.Sprintf("kv_cache_dtype %s keeps the KV cache in 16 bits; fp8 would hold %s instead of %d at max_model_len %d, with minimal quality loss",
			s.kv.Name, sessions(sessionsAt(blocks, s.maxModelLen)), atMax, s.maxModelLen))
	}
	if m.MaxPositionEmbeddings > 0 && s.maxModelLen > m.MaxPositionEmbeddings {
		warnings = append(warnings, fmt.Sprintf("max_model_len %d is more than %s's max_position_embeddings %d; vLLM refuses it unless rope scaling extends the context",
			s.maxModelLen, m.Name, m.MaxPositionEmbeddings))
	}
	if hw.CPUMemoryBytes > 0 && s.CPUKVOffloadBytes > hw.CPUMemoryBytes {
		warnings = append(warnings, fmt.Sprintf("the CPU KV tier (%s) is more than %s's %s of CPU memory",
			humanBytes(s.CPUKVOffloadBytes), hw.Name, humanBytes(hw.CPUMemoryBytes)))
	}
	if t := p.Tuning; t.MaxNumSeqsSource == TuningGiven && t.MaxNumSeqs > t.fits && s.Engine != "sglang" {
		// vLLM's optimization guide, "Preemption": when the KV cache runs
		// out, vLLM preempts requests and recomputes them later; if that
		// happens often, decrease max_num_seqs (or give it more memory).
		warnings = append(warnings, fmt.Sprintf("max_num_seqs %d is more than the %d sequences the KV cache holds at half of max_model_len: as conversations grow, vLLM preempts some and recomputes them later, and its optimization guide says to lower max_num_seqs or raise gpu_memory_utilization when that happens often",
			t.MaxNumSeqs, t.fits))
	}
	if m.AttentionChunkSize > 0 {
		warnings = append(warnings, fmt.Sprintf("KV per token counts all %d layers at full context, but %s's chunked-attention layers keep at most %d tokens: kv_tokens and sessions are lower bounds",
			m.Layers, m.Name, m.AttentionChunkSize))
	}
	return warnings
}

// assumptions lists every figure the plan assumed rather than was given,
// and the inputs it defaulted, each with the number it produced.
func (s settings) assumptions(p *Plan) []Assumption {
	m := s.Model
	d := p.details
	var as []Assumption
	add := func(name, value, why string, args ...any) {
		as = append(as, Assumption{Name: name, Value: value, Why: fmt.Sprintf(why, args...)})
	}

	s.memoryAssumptions(p, add)
	s.kvAssumptions(p, add)

	leftOut := "KV reads and kernel efficiency"
	if s.format.quantized() {
		leftOut = "KV reads, the bf16 lm_head and kernel efficiency"
	}
	add("decode_bytes_per_token", strconv.FormatInt(int64(d.decodeBytesPerToken), 10),
		"%d active params × %g B, read once per decode step: the datasheet's %s ÷ %s = %.1f tokens/s; a ceiling that leaves out %s (the throughput table counts them)",
		m.ParamsActive, s.format.bytesPerParam, humanRate(d.bandwidth), humanBytes(int64(d.decodeBytesPerToken)), p.DecodeTokensPerSCeiling, leftOut)
	s.throughputAssumptions(p, add)
	add("max_num_seqs", strconv.Itoa(p.Tuning.MaxNumSeqs), "%s", p.Tuning.maxNumSeqsWhy)
	add("max_num_batched_tokens", strconv.Itoa(p.Tuning.MaxNumBatchedTokens), "%s", p.Tuning.batchedTokensWhy)

	s.powerAssumptions(p, add)
	return as
}

// memoryAssumptions are the figures behind the memory the engine is given
// and the weights it holds.
func (s settings) memoryAssumptions(p *Plan, add func(name, value, why string, args ...any)) {
	hw, m := s.Hardware, s.Model
	d := p.details
	given := "given"
	if s.defaulted["gpu_memory_utilization"] {
		given = "vLLM's default, as none was given"
	}
	add("gpu_memory_utilization", formatFloat(s.GPUMemoryUtilization),
		"%s; usable GPU memory = %s × %g per GPU = %s", given, humanBytes(hw.GPUMemoryBytes), s.GPUMemoryUtilization, humanBytes(d.usableBytes))
	add("gpu_memory_bytes", strconv.FormatInt(hw.GPUMemoryBytes, 10), "%s", gpuMemoryWhy(hw))
	if s.gpus == 1 {
		add("tensor_parallel_size", "1", "%s has one GPU, and one engine runs on it", hw.Name)
	} else {
		add("tensor_parallel_size", strconv.Itoa(s.gpus),
			"one engine spans the %d GPUs of %s (tensor parallel): memory, bandwidth and the activation reserve scale with them", s.gpus, hw.Name)
	}

	add("weight_bytes_per_param", formatFloat(s.format.bytesPerParam), "%s", s.format.why)
	if strings.HasSuffix(s.format.name, "-int4") {
		add("int4_group_size", strconv.Itoa(int4GroupSize),
			"AWQ's and GPTQ's usual group size; a %g-byte scale and zero point per group add %g B per parameter",
			int4GroupBytes, int4GroupBytes/int4GroupSize)
	}
	if s.format.quantized() {
		embedding := min(m.EmbeddingParams(), m.ParamsTotal)
		extra := float64(embedding) * (unquantizedBytesPerParam - s.format.bytesPerParam)
		matrices := "the input embedding and lm_head"
		if m.TiedEmbeddings {
			matrices = "the tied input embedding and lm_head"
		}
		add("unquantized_params", strconv.FormatInt(embedding, 10),
			"%s (vocab %d × hidden %d) stay bf16 in quantized checkpoints, adding %s to the weights",
			matrices, m.Vocab, m.Hidden, humanBytes(int64(extra)))
	}
	if m.Experts > 0 {
		add("resident_params", strconv.FormatInt(m.ParamsTotal, 10),
			"MoE: all %d experts per layer stay in GPU memory, so the weights count params_total, not params_active (%d): weights_bytes = %s",
			m.Experts, m.ParamsActive, humanBytes(p.WeightsBytes))
	} else {
		add("resident_params", strconv.FormatInt(m.ParamsTotal, 10),
			"dense model: every parameter is in GPU memory: weights_bytes = %s", humanBytes(p.WeightsBytes))
	}

	if s.defaulted["activation_reserve_bytes"] {
		add("activation_reserve_bytes", strconv.FormatInt(s.ActivationReserveBytes, 10),
			"the default 4 GiB per GPU for what vLLM's start-up profile holds beside the weights (activation peak at max_num_batched_tokens, sampler buffers, CUDA graphs, non-torch memory); an estimate to calibrate against vLLM's kv_cache_max_concurrency log: kv_budget_bytes = %s",
			humanBytes(p.KVBudgetBytes))
	} else {
		add("activation_reserve_bytes", strconv.FormatInt(s.ActivationReserveBytes, 10),
			"given, per GPU: kv_budget_bytes = %s", humanBytes(p.KVBudgetBytes))
	}
}

// kvAssumptions are the figures behind the KV cache: its bytes per token,
// its blocks, the context and the tier in CPU memory.
func (s settings) kvAssumptions(p *Plan, add func(name, value, why string, args ...any)) {
	m := s.Model
	d := p.details
	var formula string
	if m.IsMLA() {
		formula = fmt.Sprintf("MLA: %d layers × (kv_lora_rank %d + qk_rope_head_dim %d) × %d B", m.Layers, m.KVLoraRank, m.QKRopeHeadDim, s.kv.Bytes)
	} else {
		formula = fmt.Sprintf("GQA: 2 × %d layers × %d KV heads × head_dim %d × %d B", m.Layers, m.KVHeads, m.HeadDim, s.kv.Bytes)
	}
	add("kv_bytes_per_element", strconv.Itoa(s.kv.Bytes), "%s; %s = %d B per token", s.kv.Why, formula, p.Model.KVBytesPerToken)
	if d.kvBytesPerToken != p.Model.KVBytesPerToken {
		add("kv_bytes_per_token_allocated", strconv.FormatInt(d.kvBytesPerToken, 10),
			"across %d GPUs KV heads are copied where GPUs outnumber them (an MLA latent goes to every GPU)", s.gpus)
	}
	add("kv_block_tokens", strconv.Itoa(blockTokens),
		"vLLM's default block size: kv_tokens is whole blocks (%d), and each session is rounded up to whole blocks", p.KVTokens)

	if s.defaulted["max_model_len"] {
		add("max_model_len", strconv.Itoa(s.maxModelLen), "%s's max_position_embeddings, vLLM's default as none was given", m.Name)
	} else {
		add("max_model_len", strconv.Itoa(s.maxModelLen), "given: room for %s at it", sessions(p.SessionsAtMaxModelLen()))
	}
	if s.CPUKVOffloadBytes > 0 {
		add("cpu_kv_offload_bytes", strconv.FormatInt(s.CPUKVOffloadBytes, 10),
			"given: the KV tier in CPU memory for idle sessions (vLLM's OffloadingConnector or LMCache): cpu_kv_tokens = bytes ÷ %d B per token = %d",
			d.kvBytesPerToken, p.CPUKVTokens)
	} else {
		add("cpu_kv_offload_bytes", "0", "no KV tier in CPU memory was given, so cpu_kv_tokens is 0")
	}
}

// powerAssumptions are the figures behind the power and its cost.
func (s settings) powerAssumptions(p *Plan, add func(name, value, why string, args ...any)) {
	given := "given"
	if s.defaulted["duty_cycle"] {
		given = "the default: 24/7 at TDP, an upper bound"
	}
	add("duty_cycle", formatFloat(s.DutyCycle), "fraction of TDP drawn on average, %s: %g W", given, p.Power.Watts)
	add("hours_per_month", strconv.Itoa(hoursPerMonth), "8760 hours a year ÷ 12: %g kWh/month", p.Power.KWhPerMonth)
	if s.TariffPerKWh > 0 {
		add("tariff_per_kwh", strings.TrimSpace(formatFloat(s.TariffPerKWh)+" "+s.Currency),
			"given: %s a month", money(*p.Power.CostPerMonth, s.Currency))
	} else {
		add("tariff_per_kwh", "none", "no tariff given, so cost_per_month is null")
	}
}

// gpuMemoryWhy says where a GPU's memory figure comes from: measured as
// CUDA reports it, converted from the vendor's figure, or the vendor's
// figure itself.
func gpuMemoryWhy(hw catalog.Hardware) string {
	switch {
	case hw.GPUMemoryMeasured:
		return fmt.Sprintf("the total CUDA reports (torch.cuda.mem_get_info), measured, which vLLM multiplies by gpu_memory_utilization; the vendor says %s", humanBytes(hw.GPUMemoryNominalBytes))
	case hw.GPUMemoryBytes == hw.GPUMemoryNominalBytes:
		return "the vendor's figure read as decimal bytes; CUDA reports more for HBM, so the KV budget is on the low side"
	}
	return fmt.Sprintf("unmeasured: the vendor's %s converted to what CUDA would report (read as GiB less a driver reserve, in the ratio measured on an H200), which vLLM multiplies by gpu_memory_utilization", humanBytes(hw.GPUMemoryNominalBytes))
}

// orList joins items as "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// sessions spells a session count: "1 session", "35 sessions".
func sessions(n int) string {
	if n == 1 {
		return "1 session"
	}
	return strconv.Itoa(n) + " sessions"
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

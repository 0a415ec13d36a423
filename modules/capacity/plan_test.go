package capacity

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
)

// hardware is a catalog entry with its memory as published arithmetic
// reads it: the vendor's "GB" as decimal bytes (252 GB = 252e9 B). The
// tests that reproduce that arithmetic use it; cudaHardware is the
// catalog's own entry, with the memory CUDA reports.
func hardware(t testing.TB, name string) catalog.Hardware {
	t.Helper()
	h := cudaHardware(t, name)
	h.GPUMemoryBytes = h.GPUMemoryNominalBytes
	return h
}

func cudaHardware(t testing.TB, name string) catalog.Hardware {
	t.Helper()
	h, ok := catalog.LookupHardware(name)
	if !ok {
		t.Fatalf("hardware %q is not in the catalog", name)
	}
	return h
}

func model(t testing.TB, name string) catalog.Model {
	t.Helper()
	m, ok := catalog.LookupModel(name)
	if !ok {
		t.Fatalf("model %q is not in the catalog", name)
	}
	return m
}

func compute(t testing.TB, in Input) *Plan {
	t.Helper()
	p, err := Compute(in)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

// seedInput is the reference appliance's launch command, sized by hand: Qwen3-
// 235B-A22B-Instruct-2507 in AWQ on the DGX Station GB300 at
// gpu_memory_utilization 0.95 with an fp8 KV cache and 32K context, the
// LPDDR5X warm tier of 256 GiB, and a tariff of 0.30 AUD/kWh.
func seedInput(t testing.TB) Input {
	return Input{
		Hardware:             hardware(t, "dgx-station-gb300"),
		Model:                model(t, "qwen3-235b-a22b-instruct-2507"),
		Weights:              "awq-int4",
		KVCacheDType:         "fp8",
		GPUMemoryUtilization: 0.95,
		MaxModelLen:          32768,
		CPUKVOffloadBytes:    256 << 30,
		TariffPerKWh:         0.30,
		Currency:             "AUD",
	}
}

// figures are the numbers of a plan that tests compare.
type figures struct {
	WeightsBytes, KVBudgetBytes, KVTokens, CPUKVTokens int64
	KVBytesPerToken                                    int64
	Sessions                                           Sessions
	Decode                                             float64
	Fits                                               bool
}

func figuresOf(p *Plan) figures {
	return figures{
		WeightsBytes: p.WeightsBytes, KVBudgetBytes: p.KVBudgetBytes,
		KVTokens: p.KVTokens, CPUKVTokens: p.CPUKVTokens,
		KVBytesPerToken: p.Model.KVBytesPerToken,
		Sessions:        p.Sessions,
		Decode:          p.DecodeTokensPerSCeiling,
		Fits:            p.Fits,
	}
}

// TestSeedWorkedExample reproduces the hand sizing with this package's
// stated assumptions. Where the numbers differ from it, the comments
// say why.
func TestSeedWorkedExample(t *testing.T) {
	p := compute(t, seedInput(t))
	want := figures{
		// By hand ~124 GB: 235B × (0.5 + 2.5/128) B for the 4-bit
		// weights with group-128 scales and zero points, with the
		// 1.24B embedding and lm_head parameters kept in bf16.
		WeightsBytes: 123_932_523_558,
		// By hand ~128 GB free (252 − 124, all of HBM); here it is
		// 252e9 × 0.95 − 123.9 GB − the 4 GiB activation reserve.
		KVBudgetBytes: 111_172_509_146,
		KVTokens:      1_154_960, // whole 16-token blocks
		// By hand ~2.6M tokens at fp8; 256 GiB holds 2.86M.
		CPUKVTokens:     2_855_696,
		KVBytesPerToken: 96_256, // by hand ~96 KB/token at fp8
		// By hand ~178/44/11 with 128 GiB free and decimal "K"
		// contexts; the smaller budget gives 140/35/8.
		Sessions: Sessions{
			{ContextTokens: 8192, Sessions: 140},
			{ContextTokens: 32768, Sessions: 35},
			{ContextTokens: 131072, Sessions: 8},
		},
		// By hand ~645 tok/s from 22B × 0.5 B; the group scales make
		// it 22B × 0.5195 B = 11.43 GB.
		Decode: 621.2,
		Fits:   true,
	}
	if diff := cmp.Diff(want, figuresOf(p)); diff != "" {
		t.Errorf("seed plan mismatch (-want +got):\n%s", diff)
	}
	if n := p.SessionsAtMaxModelLen(); n < 25 || n > 50 {
		t.Errorf("sessions at 32K = %d, want a few tens, as the hand sizing's ~44", n)
	}
	if off := math.Abs(float64(p.WeightsBytes)-124e9) / 124e9; off > 0.01 {
		t.Errorf("weights %d B are %.1f%% off the hand sizing's ~124 GB", p.WeightsBytes, 100*off)
	}
	// 1600 W, 24/7, at 0.30 AUD/kWh is ~350 AUD a month.
	cost := 350.4
	if diff := cmp.Diff(Power{Watts: 1600, KWhPerMonth: 1168, CostPerMonth: &cost}, p.Power); diff != "" {
		t.Errorf("power mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, p.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	if p.Advice() != "" {
		t.Errorf("Advice() = %q for a plan that fits", p.Advice())
	}
}

// TestSeedFP8WeightsDoNotFit: the hand sizing's FP8 row "leaves ~17 GB (unusable)"
// of the 252 GB. At gpu_memory_utilization 0.95 and with an activation
// reserve nothing is left for even one 32K sequence, so the plan does not
// fit and says what would.
func TestSeedFP8WeightsDoNotFit(t *testing.T) {
	in := seedInput(t)
	in.Weights = "fp8"
	p := compute(t, in)
	if p.Fits {
		t.Fatal("fp8 Qwen3-235B fits on the GB300 with a 32K session; it should not")
	}
	if p.WeightsBytes != 236_244_659_712 || p.KVBudgetBytes != 0 {
		t.Errorf("weights %d B, KV budget %d B; want 236244659712 and 0", p.WeightsBytes, p.KVBudgetBytes)
	}
	if got := hardware(t, "dgx-station-gb300").GPUMemoryBytes - p.WeightsBytes; got < 15e9 || got > 17e9 {
		t.Errorf("HBM beside fp8 weights = %d B, want the hand sizing's ~17 GB less the bf16 embeddings", got)
	}
	wantAdvice := "fp8 weights (236.2 GB) leave 0 B of KV cache (239.4 GB usable − 4.3 GB activation reserve): " +
		"0 sessions at 32768 tokens; use awq-int4 weights (35 sessions) or nvfp4 weights (32 sessions)"
	if diff := cmp.Diff(wantAdvice, p.Advice()); diff != "" {
		t.Errorf("Advice() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"does not fit: " + wantAdvice}, p.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}

	// Without the reserve, exactly one 32K sequence fits beside the weights.
	in.ActivationReserveBytes = 1
	if p := compute(t, in); !p.Fits || p.SessionsAtMaxModelLen() != 1 {
		t.Errorf("without a reserve: fits %v with %d sessions; want 1", p.Fits, p.SessionsAtMaxModelLen())
	}
}

// TestSeedWeightSizes reproduces the hand sizing's model sizes for Qwen3-235B.
func TestSeedWeightSizes(t *testing.T) {
	tests := []struct {
		weights string
		want    int64
		seed    float64 // sized by hand
	}{
		{weights: "bf16", want: 470_000_000_000, seed: 470e9},
		{weights: "fp8", want: 236_244_659_712, seed: 235e9},
		{weights: "awq-int4", want: 123_932_523_558, seed: 124e9},
		{weights: "gptq-int4", want: 123_932_523_558, seed: 124e9},
		{weights: "nvfp4", want: 133_976_698_336, seed: 132e9},
	}
	for _, tc := range tests {
		t.Run(tc.weights, func(t *testing.T) {
			in := seedInput(t)
			in.Weights = tc.weights
			got := compute(t, in).WeightsBytes
			if got != tc.want {
				t.Errorf("weights_bytes = %d, want %d", got, tc.want)
			}
			if off := math.Abs(float64(got)-tc.seed) / tc.seed; off > 0.02 {
				t.Errorf("weights_bytes %d is %.1f%% off the published ~%g", got, 100*off, tc.seed)
			}
		})
	}
}

// TestSeedKVCacheTable reproduces the hand sizing: the KV bytes per token
// and the tokens and sessions in 128 GiB of free HBM. Its session
// counts divide by decimal "K" (8,000, 32,000, 128,000 tokens); with those
// contexts the plan gives exactly its numbers, and with 8192, 32768
// and 131072 slightly fewer.
func TestSeedKVCacheTable(t *testing.T) {
	tests := []struct {
		kv           string
		bytesPerTok  int64
		tokens       int64
		seedSessions map[int]int // at decimal contexts (8000, 32000, 128000)
		sessions     Sessions    // at the plan's standard contexts
	}{
		{
			kv: "auto", bytesPerTok: 192_512, tokens: 713_920, // by hand: ~714K
			seedSessions: map[int]int{8000: 89, 32000: 22, 128000: 5},
			sessions: Sessions{
				{ContextTokens: 8192, Sessions: 87},
				{ContextTokens: 32768, Sessions: 21},
				{ContextTokens: 131072, Sessions: 5},
			},
		},
		{
			kv: "fp8", bytesPerTok: 96_256, tokens: 1_427_840, // by hand: ~1.4M
			seedSessions: map[int]int{8000: 178, 32000: 44, 128000: 11},
			sessions: Sessions{
				{ContextTokens: 8192, Sessions: 174},
				{ContextTokens: 32768, Sessions: 43},
				{ContextTokens: 131072, Sessions: 10},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.kv, func(t *testing.T) {
			in := seedInput(t)
			in.KVCacheDType = tc.kv
			in.MaxModelLen = 32768
			in.GPUMemoryUtilization = 1
			in.ActivationReserveBytes = 1
			// A GPU with exactly 128 GiB beside the weights and the 1-byte reserve.
			weights := compute(t, in).WeightsBytes
			in.Hardware.GPUMemoryBytes = weights + 128<<30 + 1

			p := compute(t, in)
			if p.KVBudgetBytes != 128<<30 {
				t.Fatalf("KV budget = %d, want 128 GiB", p.KVBudgetBytes)
			}
			if p.Model.KVBytesPerToken != tc.bytesPerTok || p.KVTokens != tc.tokens {
				t.Errorf("%d B/token, %d tokens; want %d and %d", p.Model.KVBytesPerToken, p.KVTokens, tc.bytesPerTok, tc.tokens)
			}
			if diff := cmp.Diff(tc.sessions, p.Sessions); diff != "" {
				t.Errorf("sessions mismatch (-want +got):\n%s", diff)
			}
			got := map[int]int{}
			for ctx := range tc.seedSessions {
				in.MaxModelLen = ctx
				got[ctx] = compute(t, in).SessionsAtMaxModelLen()
			}
			if diff := cmp.Diff(tc.seedSessions, got); diff != "" {
				t.Errorf("sessions at decimal contexts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSeedCPUTier reproduces the hand sizing: the LPDDR5X tier adds ~2.6M tokens at
// fp8; that figure fits 250 GB of it.
func TestSeedCPUTier(t *testing.T) {
	in := seedInput(t)
	in.CPUKVOffloadBytes = 250e9
	if got := compute(t, in).CPUKVTokens; got != 2_597_240 {
		t.Errorf("cpu_kv_tokens = %d, want 2597240 (250e9 / 96256)", got)
	}
}

// TestDomainWorkedArithmetic reproduces a worked arithmetic:
// 252e9 B × 0.9 = 226.8 GB, activations ignored (a 1-byte reserve), fp8
// KV, sessions at 32K.
func TestDomainWorkedArithmetic(t *testing.T) {
	tests := []struct {
		name     string
		hardware string
		model    string
		weights  string
		weightsB int64
		sessions int
		fits     bool
		domain   int // the arithmetic's "~N" sessions
	}{
		{
			// 30.5B × 2 B = 61 GB.
			name: "qwen3-30b-a3b bf16 on gb300", hardware: "dgx-station-gb300",
			model: "qwen3-30b-a3b", weights: "bf16",
			weightsB: 61_000_000_000, sessions: 102, fits: true, domain: 100,
		},
		{
			name: "qwen3-235b nvfp4 on gb300", hardware: "dgx-station-gb300",
			model: "qwen3-235b-a22b", weights: "nvfp4",
			weightsB: 133_976_698_336, sessions: 29, fits: true, domain: 29,
		},
		{
			// The arithmetic counts 70.6 GB; the bf16 embedding and lm_head
			// add 2.1 GB, which costs one session.
			name: "llama-3.3-70b fp8 on gb300", hardware: "dgx-station-gb300",
			model: "llama-3.3-70b", weights: "fp8",
			weightsB: 72_701_346_304, sessions: 28, fits: true, domain: 29,
		},
		{
			// 72.7 GB of weights in 72 GB usable.
			name: "llama-3.3-70b fp8 on one h100", hardware: "h100-80gb-sxm",
			model: "llama-3.3-70b", weights: "fp8",
			weightsB: 72_701_346_304, sessions: 0, fits: false, domain: 0,
		},
		{
			name: "kimi-k2 fp8 on gb300", hardware: "dgx-station-gb300",
			model: "kimi-k2", weights: "fp8",
			weightsB: 1_002_348_810_240, sessions: 0, fits: false, domain: 0,
		},
		{
			name: "kimi-k2 nvfp4 on gb300", hardware: "dgx-station-gb300",
			model: "kimi-k2", weights: "nvfp4",
			weightsB: 565_876_414_720, sessions: 0, fits: false, domain: 0,
		},
		{
			name: "llama-4-maverick fp8 on gb300", hardware: "dgx-station-gb300",
			model: "llama-4-maverick", weights: "fp8",
			weightsB: 402_068_971_520, sessions: 0, fits: false, domain: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := compute(t, Input{
				Hardware:               hardware(t, tc.hardware),
				Model:                  model(t, tc.model),
				Weights:                tc.weights,
				KVCacheDType:           "fp8",
				GPUMemoryUtilization:   0.9,
				MaxModelLen:            32768,
				ActivationReserveBytes: 1,
			})
			type result struct {
				WeightsBytes int64
				Sessions     int
				Fits         bool
			}
			want := result{WeightsBytes: tc.weightsB, Sessions: tc.sessions, Fits: tc.fits}
			got := result{WeightsBytes: p.WeightsBytes, Sessions: p.SessionsAtMaxModelLen(), Fits: p.Fits}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
			if d := got.Sessions - tc.domain; d < -3 || d > 3 {
				t.Errorf("%d sessions, the worked arithmetic says ~%d", got.Sessions, tc.domain)
			}
		})
	}
}

func TestKimiK2DoesNotFit(t *testing.T) {
	in := seedInput(t)
	in.Model = model(t, "kimi-k2")
	in.Weights = "fp8"
	p := compute(t, in)
	want := []string{
		"does not fit: fp8 weights (1.00 TB) exceed the 239.4 GB of GPU memory usable at gpu_memory_utilization 0.95; " +
			"no weight format fits: even awq-int4 needs 523 GB; use a smaller model or hardware with more GPU memory",
		"fp8 weights (1.00 TB) exceed GPU and CPU memory together (748 GB): dgx-station-gb300 cannot hold kimi-k2",
	}
	if diff := cmp.Diff(want, p.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}

	in.Weights = "awq-int4"
	p = compute(t, in)
	want = []string{
		"does not fit: awq-int4 weights (523 GB) exceed the 239.4 GB of GPU memory usable at gpu_memory_utilization 0.95; " +
			"no weight format fits: even awq-int4 needs 523 GB; use a smaller model or hardware with more GPU memory",
		"awq-int4 weights (523 GB) exceed the 252 GB of GPU memory; only offloading weights to CPU memory " +
			"(vLLM --cpu-offload-gb, 496 GB, 18× slower than GPU memory) could hold them, and this plan does not model that",
	}
	if diff := cmp.Diff(want, p.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

// TestQwen3On1H100 is the audition on a rented GPU: Qwen3-30B-A3B on one
// rented H100 80GB with vLLM's default utilization.
func TestQwen3On1H100(t *testing.T) {
	in := Input{
		Hardware:     hardware(t, "h100-80gb-sxm"),
		Model:        model(t, "qwen3-30b-a3b"),
		Weights:      "bf16",
		KVCacheDType: "fp8",
		MaxModelLen:  32768,
	}
	p := compute(t, in)
	want := figures{
		WeightsBytes:    61_000_000_000,
		KVBudgetBytes:   6_705_032_704, // 72 GB − 61 GB − 4 GiB
		KVTokens:        136_400,
		KVBytesPerToken: 49_152,
		Sessions: Sessions{
			{ContextTokens: 8192, Sessions: 16},
			{ContextTokens: 32768, Sessions: 4},
			{ContextTokens: 131072, Sessions: 1},
		},
		Decode: 507.6, // 3.35 TB/s ÷ (3.3B × 2 B)
		Fits:   true,
	}
	if diff := cmp.Diff(want, figuresOf(p)); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}

	// A 16-bit KV cache halves the sessions, below what a collective needs.
	in.KVCacheDType = "auto"
	p = compute(t, in)
	wantWarnings := []string{"room for only 2 sessions at max_model_len 32768: with more people active at once, the rest wait"}
	if diff := cmp.Diff(wantWarnings, p.Warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Input)
		want   []string
	}{
		{
			name:   "auto KV on a big model",
			change: func(in *Input) { in.KVCacheDType = "auto" },
			want: []string{"kv_cache_dtype auto keeps the KV cache in 16 bits; fp8 would hold 35 sessions instead of 17 at max_model_len 32768, " +
				"with minimal quality loss"},
		},
		{
			name:   "context beyond the model's",
			change: func(in *Input) { in.Model = model(t, "qwen3-235b-a22b"); in.MaxModelLen = 65536 },
			want: []string{"max_model_len 65536 is more than qwen3-235b-a22b's max_position_embeddings 40960; " +
				"vLLM refuses it unless rope scaling extends the context"},
		},
		{
			name:   "CPU tier beyond CPU memory",
			change: func(in *Input) { in.CPUKVOffloadBytes = 512e9 },
			want:   []string{"the CPU KV tier (512 GB) is more than dgx-station-gb300's 496 GB of CPU memory"},
		},
		{
			name: "chunked attention",
			change: func(in *Input) {
				in.Model = model(t, "llama-4-maverick")
				in.Weights = "awq-int4"
				in.GPUMemoryUtilization = 0.95
			},
			want: []string{"KV per token counts all 48 layers at full context, but llama-4-maverick's chunked-attention layers keep at most 8192 tokens: " +
				"kv_tokens and sessions are lower bounds"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := seedInput(t)
			tc.change(&in)
			p := compute(t, in)
			if diff := cmp.Diff(tc.want, p.Warnings); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdviceForShorterContext(t *testing.T) {
	in := seedInput(t)
	in.MaxModelLen = 2_000_000
	p := compute(t, in)
	want := "awq-int4 weights (123.9 GB) leave 111.2 GB of KV cache (239.4 GB usable − 4.3 GB activation reserve): " +
		"0 sessions at 2000000 tokens; use max_model_len ≤ 1154960 (1 session)"
	if diff := cmp.Diff(want, p.Advice()); diff != "" {
		t.Errorf("Advice() mismatch (-want +got):\n%s", diff)
	}

	in.KVCacheDType = "auto"
	in.MaxModelLen = 1_000_000
	p = compute(t, in)
	want = "awq-int4 weights (123.9 GB) leave 111.2 GB of KV cache (239.4 GB usable − 4.3 GB activation reserve): " +
		"0 sessions at 1000000 tokens; use kv_cache_dtype fp8 (1 session) or max_model_len ≤ 577472 (1 session)"
	if diff := cmp.Diff(want, p.Advice()); diff != "" {
		t.Errorf("Advice() mismatch (-want +got):\n%s", diff)
	}
}

// TestDefaults checks the inputs that may be left zero and the
// assumptions that say so.
func TestDefaults(t *testing.T) {
	in := Input{
		Hardware: hardware(t, "dgx-station-gb300"),
		Model:    model(t, "qwen3-30b-a3b"),
		Weights:  "bf16",
	}
	p := compute(t, in)
	got := map[string]string{}
	for _, a := range p.Assumptions {
		got[a.Name] = a.Value
	}
	want := map[string]string{
		"gpu_memory_utilization":   "0.9",
		"tensor_parallel_size":     "1",
		"weight_bytes_per_param":   "2",
		"resident_params":          "30500000000",
		"activation_reserve_bytes": "4294967296",
		"kv_bytes_per_element":     "2",
		"kv_block_tokens":          "16",
		"max_model_len":            "40960",
		"cpu_kv_offload_bytes":     "0",
		"decode_bytes_per_token":   "6600000000",
		"duty_cycle":               "1",
		"hours_per_month":          "730",
		"tariff_per_kwh":           "none",
		// The vendor's figure as these tests use it; the catalog's is CUDA's.
		"gpu_memory_bytes": "252000000000",
		// 7.1 TB/s × 4.17/4.8: the GB300's own is unmeasured.
		"achievable_bandwidth_bytes_per_s": "6168125000000",
		"throughput_context_tokens":        "20480", // half of 40960
		"experts_read_per_step":            "8.0 at 1, 51.6 at 8 or 111.8 at 32",
		"prefill_flops":                    "2250000000000000",
		"max_num_seqs":                     "80", // sessions at 20480 tokens
		"max_num_batched_tokens":           "8192",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assumptions mismatch (-want +got):\n%s", diff)
	}
	if p.MaxModelLen != 40960 || p.Power.CostPerMonth != nil {
		t.Errorf("max_model_len %d, cost %v; want 40960 and no cost", p.MaxModelLen, p.Power.CostPerMonth)
	}
	if _, ok := p.Sessions.At(40960); !ok {
		t.Errorf("sessions %v lack max_model_len 40960", p.Sessions)
	}
}

// TestTensorParallel checks a multi-GPU machine: memory and bandwidth add
// up, and KV heads are copied when GPUs outnumber them.
func TestTensorParallel(t *testing.T) {
	eight := hardware(t, "h100-80gb-sxm")
	eight.Name, eight.GPUs = "8x-h100", 8
	tests := []struct {
		model       string
		kvAllocated int64
	}{
		// 4 KV heads on 8 GPUs: each holds one, so the cache is doubled.
		{model: "qwen3-235b-a22b", kvAllocated: 2 * 96_256},
		// 8 KV heads on 8 GPUs: one each, nothing copied.
		{model: "llama-3.3-70b", kvAllocated: 163_840},
		// MLA: every GPU holds the whole latent.
		{model: "kimi-k2", kvAllocated: 8 * 35_136},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			p := compute(t, Input{Hardware: eight, Model: model(t, tc.model), Weights: "fp8", KVCacheDType: "fp8", MaxModelLen: 32768})
			if p.details.kvBytesPerToken != tc.kvAllocated {
				t.Errorf("KV allocated per token = %d, want %d", p.details.kvBytesPerToken, tc.kvAllocated)
			}
			if p.details.usableBytes != 8*72e9 || p.details.reserveBytes != 8*DefaultActivationReserveBytes {
				t.Errorf("usable %d, reserve %d; want 8 × 72 GB and 8 × 4 GiB", p.details.usableBytes, p.details.reserveBytes)
			}
		})
	}
}

func TestComputeErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Input)
		wantErr string
	}{
		{name: "unknown weights", change: func(in *Input) { in.Weights = "int8" }, wantErr: `weights "int8" is not one of bf16, fp8, nvfp4, awq-int4, gptq-int4`},
		{name: "unknown KV dtype", change: func(in *Input) { in.KVCacheDType = "fp16" }, wantErr: `kv_cache_dtype "fp16" is not one of auto, bfloat16, fp8, fp8_e4m3, fp8_e5m2`},
		{name: "utilization above 1", change: func(in *Input) { in.GPUMemoryUtilization = 1.5 }, wantErr: "gpu_memory_utilization 1.5 is not in (0, 1]"},
		{name: "negative context", change: func(in *Input) { in.MaxModelLen = -1 }, wantErr: "max_model_len -1 is negative"},
		{name: "absurd context", change: func(in *Input) { in.MaxModelLen = math.MaxInt }, wantErr: "is more than 1073741824 tokens"},
		{name: "negative reserve", change: func(in *Input) { in.ActivationReserveBytes = -1 }, wantErr: "activation reserve -1 is negative"},
		{name: "duty cycle above 1", change: func(in *Input) { in.DutyCycle = 2 }, wantErr: "duty cycle 2 is not in (0, 1]"},
		{name: "negative offload", change: func(in *Input) { in.CPUKVOffloadBytes = -1 }, wantErr: "cpu_kv_offload -1 is negative"},
		{name: "negative tariff", change: func(in *Input) { in.TariffPerKWh = -0.3 }, wantErr: "tariff -0.3 per kWh is not a price"},
		{name: "no hardware", change: func(in *Input) { in.Hardware = catalog.Hardware{} }, wantErr: `hardware "" needs at least one GPU with memory and bandwidth`},
		{name: "no model", change: func(in *Input) { in.Model = catalog.Model{Name: "x"} }, wantErr: `model "x" has no layers or no KV cache dimensions`},
		{
			name:    "no context to default to",
			change:  func(in *Input) { in.MaxModelLen = 0; in.Model.MaxPositionEmbeddings = 0 },
			wantErr: `max_model_len is unset and model "qwen3-235b-a22b-instruct-2507" has no max_position_embeddings to default it to`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := seedInput(t)
			tc.change(&in)
			_, err := Compute(in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Compute error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestPower checks the electricity cost of 1600 W at 0.30 AUD/kWh and a partial duty cycle.
func TestPower(t *testing.T) {
	tests := []struct {
		name      string
		duty      float64
		tariff    float64
		currency  string
		want      Power
		wantValue string // the tariff assumption's value
	}{
		{name: "seed: 24/7 at TDP", tariff: 0.30, currency: "AUD", want: Power{Watts: 1600, KWhPerMonth: 1168, CostPerMonth: ptr(350.4)}, wantValue: "0.3 AUD"},
		{name: "60% duty, no currency", duty: 0.6, tariff: 0.25, want: Power{Watts: 960, KWhPerMonth: 700.8, CostPerMonth: ptr(175.2)}, wantValue: "0.25"},
		{name: "no tariff", want: Power{Watts: 1600, KWhPerMonth: 1168}, wantValue: "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := seedInput(t)
			in.DutyCycle, in.TariffPerKWh, in.Currency = tc.duty, tc.tariff, tc.currency
			p := compute(t, in)
			if diff := cmp.Diff(tc.want, p.Power); diff != "" {
				t.Errorf("power mismatch (-want +got):\n%s", diff)
			}
			last := p.Assumptions[len(p.Assumptions)-1]
			if last.Name != "tariff_per_kwh" || last.Value != tc.wantValue {
				t.Errorf("last assumption = %+v, want tariff_per_kwh %q", last, tc.wantValue)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestDeterministic(t *testing.T) {
	first, err := json.Marshal(compute(t, seedInput(t)))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		again, err := json.Marshal(compute(t, seedInput(t)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("two plans of the same input differ:\n%s\n%s", first, again)
		}
	}
}

func TestJSONContract(t *testing.T) {
	in := seedInput(t)
	in.MaxModelLen = 40000
	in.TariffPerKWh = 0
	b, err := json.Marshal(compute(t, in))
	if err != nil {
		t.Fatal(err)
	}
	// The top-level keys, in the order README documents.
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.Token() // {
	for dec.More() {
		key, _ := dec.Token()
		keys = append(keys, key.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	wantKeys := []string{
		"hardware", "model", "weights_bytes", "kv_budget_bytes", "kv_tokens", "cpu_kv_tokens",
		"sessions", "decode_tokens_per_s_ceiling", "throughput", "tuning", "fits", "warnings", "power", "assumptions",
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("top-level keys mismatch (-want +got):\n%s", diff)
	}

	var got struct {
		Sessions json.RawMessage `json:"sessions"`
		Power    json.RawMessage `json:"power"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := `{"8192":140,"32768":35,"40000":28,"131072":8}`; string(got.Sessions) != want {
		t.Errorf("sessions = %s, want %s", got.Sessions, want)
	}
	if want := `{"watts":1600,"kwh_per_month":1168,"cost_per_month":null}`; string(got.Power) != want {
		t.Errorf("power = %s, want %s", got.Power, want)
	}

	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := Sessions{{8192, 140}, {32768, 35}, {40000, 28}, {131072, 8}}
	if diff := cmp.Diff(want, back.Sessions); diff != "" {
		t.Errorf("sessions read back mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkCompute(b *testing.B) {
	in := seedInput(b)
	for b.Loop() {
		if _, err := Compute(in); err != nil {
			b.Fatal(err)
		}
	}
}

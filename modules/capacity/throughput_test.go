package capacity

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPublishedDecodeCeiling reproduces the published single-stream
// arithmetic for Qwen3-235B-A22B in 4 bits on the GB300: 22B active
// parameters × 0.5 B = 11 GB read per token, 7.1 TB/s ÷ 11 GB ≈ 645
// tokens/s. With the same assumptions (0.5 B per parameter, no group
// scales, the datasheet bandwidth, no KV reads) the plan's ceiling formula
// gives the same figure; with AWQ's group-128 scales it is 621 (the
// ceiling every plan keeps).
func TestPublishedDecodeCeiling(t *testing.T) {
	in := seedInput(t)
	p := compute(t, in)
	published := in.Hardware.GPUBandwidthBytesPerS / (float64(in.Model.ParamsActive) * 0.5)
	if math.Round(published) != 645 {
		t.Errorf("7.1 TB/s ÷ (22B × 0.5 B) = %.1f, want ~645", published)
	}
	if p.DecodeTokensPerSCeiling != 621.2 {
		t.Errorf("ceiling = %g, want 621.2 (7.1 TB/s ÷ 22B × 0.5195 B)", p.DecodeTokensPerSCeiling)
	}
}

// TestThroughputTable is the default estimate for the same machine and
// model at 16K tokens of context (half the 32K max_model_len), and how it
// compares with the published ranges for this setup: 200–400 tokens/s for
// one stream, 100–200 per person at 8, 30–60 per person at 32 and
// 2,000–5,000 tokens/s of prefill.
func TestThroughputTable(t *testing.T) {
	p := compute(t, seedInput(t))
	got := p.Throughput
	want := Throughput{
		ContextTokens: 16384,
		// 7.1 TB/s × 4.17/4.8, the share a measured H200 streams at.
		BandwidthBytesPerS:          6_168_125_000_000,
		BandwidthDatasheetBytesPerS: 7.1e12,
		Decode: []DecodeScenario{
			// 453 is above the published 200–400: the estimate reads
			// weights and KV at achievable bandwidth and nothing else;
			// decode attention arithmetic, kernel launches and sampling,
			// which a measured figure includes, are left out.
			// 12.0 GB = the 11.4 GB of active 4-bit weights less the two
			// 4-bit embedding matrices plus the bf16 lm_head; 1.6 GB =
			// 16384 tokens × 96,256 B of fp8 KV.
			{Users: 1, WeightBytesPerStep: 12_027_707_596, KVBytesPerStep: 1_577_058_304, TokensPerSPerUser: 453.4, TokensPerSTotal: 453.4, Fits: true},
			// 95 is just below the published 100–200: 8 tokens routed
			// independently read 51.6 of each layer's 128 experts, not 8,
			// so a step reads 4.3× the weights of one stream; a range that
			// assumes batching amortizes the weight reads misses this.
			{Users: 8, WeightBytesPerStep: 52_234_246_226, KVBytesPerStep: 12_616_466_432, TokensPerSPerUser: 95.1, TokensPerSTotal: 760.9, Fits: true},
			// 39 is inside the published 30–60: a step reads 87% of the
			// experts and 32 sequences' KV.
			{Users: 32, WeightBytesPerStep: 107_678_395_430, KVBytesPerStep: 50_465_865_728, TokensPerSPerUser: 39, TokensPerSTotal: 1248.1, Fits: true},
		},
		// 32,499 is 6–16× the published 2,000–5,000: it is the ceiling at
		// full use of the tensor cores (2.25 PFLOP/s dense bf16, in which
		// the W4A16 AWQ kernels compute, an unverified figure for this
		// GPU), not a measured rate.
		PrefillTokensPerS:   32_499,
		PrefillFLOPPerToken: 2*22e9 + 94*64*(128+128)*16384,
		PrefillFLOPS:        2.25e15,
		PrefillPrecision:    "bf16",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("throughput (-want +got):\n%s", diff)
	}
	if one, eight := got.Decode[0], got.Decode[1]; one.TokensPerSPerUser < 200 || eight.TokensPerSPerUser > 200 || got.Decode[2].TokensPerSPerUser < 30 || got.Decode[2].TokensPerSPerUser > 60 {
		t.Errorf("the estimate has moved away from the published ranges: %+v", got.Decode)
	}
}

// TestThroughputMechanics: a dense model reads the same weights at any
// batch; an MoE batch reads between k and all experts; KV reads scale with
// the people; a scenario the KV cache cannot hold is marked; a GPU
// without a compute figure gets no prefill estimate.
func TestThroughputMechanics(t *testing.T) {
	in := Input{Hardware: hardware(t, "h100-80gb-sxm"), Model: model(t, "llama-3.3-70b"), Weights: "fp8", KVCacheDType: "fp8", MaxModelLen: 8192}
	p := compute(t, in)
	d := p.Throughput.Decode
	if d[0].WeightBytesPerStep != d[2].WeightBytesPerStep {
		t.Errorf("a dense model reads %d B at 1 and %d B at 32", d[0].WeightBytesPerStep, d[2].WeightBytesPerStep)
	}
	if d[2].KVBytesPerStep != 32*d[0].KVBytesPerStep {
		t.Errorf("KV per step %d at 32 people, %d at one", d[2].KVBytesPerStep, d[0].KVBytesPerStep)
	}
	if p.Throughput.PrefillPrecision != "fp8" || p.Throughput.PrefillFLOPS != 1979e12 {
		t.Errorf("fp8 weights prefill at %s %g", p.Throughput.PrefillPrecision, p.Throughput.PrefillFLOPS)
	}
	// 72.7 GB of fp8 weights on 80 GB leave no room for 32 sequences.
	if d[0].Fits && d[2].Fits {
		t.Errorf("fits %v at 1, %v at 32; the small KV cache should not hold 32", d[0].Fits, d[2].Fits)
	}

	m := model(t, "qwen3-235b-a22b")
	if got := expertsRead(m, 1); math.Abs(got-8) > 1e-9 {
		t.Errorf("one token reads %g experts, want 8", got)
	}
	if got := expertsRead(m, 1000); got < 127.9 || got > 128 {
		t.Errorf("a large batch reads %g experts, want all 128", got)
	}

	in = Input{Hardware: hardware(t, "gb10"), Model: model(t, "qwen3-30b-a3b"), Weights: "bf16", MaxModelLen: 8192}
	if tp := compute(t, in).Throughput; tp.PrefillTokensPerS != 0 || tp.PrefillFLOPS != 0 {
		t.Errorf("gb10 has no compute figure, yet prefill = %g", tp.PrefillTokensPerS)
	}
}

// TestMemoryAsCUDAReportsIt: the plans of the reference machines with the
// memory CUDA reports rather than the vendor's decimal figure. All of the
// difference lands on the KV cache: 35 → 40 sessions of 32K on the GB300
// (whose converted figure is unverified), 22 → 25 for Qwen3-30B-A3B in fp8
// on the H100 audition, both +14%.
func TestMemoryAsCUDAReportsIt(t *testing.T) {
	tests := []struct {
		name              string
		in                func(hw string) Input
		hw                string
		nominal, cudaSide int
	}{
		{"gb300", func(hw string) Input {
			in := seedInput(t)
			in.Hardware = cudaHardware(t, hw)
			return in
		}, "dgx-station-gb300", 35, 40},
		{"h100 audition", func(hw string) Input {
			return Input{Hardware: cudaHardware(t, hw), Model: model(t, "qwen3-30b-a3b"), Weights: "fp8", KVCacheDType: "fp8", MaxModelLen: 32768}
		}, "h100-80gb-sxm", 22, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in(tc.hw)
			cuda := compute(t, in)
			in.Hardware = hardware(t, tc.hw)
			nominal := compute(t, in)
			if cuda.WeightsBytes != nominal.WeightsBytes {
				t.Fatal("the weights changed with the memory figure")
			}
			if n, c := nominal.SessionsAtMaxModelLen(), cuda.SessionsAtMaxModelLen(); n != tc.nominal || c != tc.cudaSide {
				t.Errorf("sessions %d with the vendor's figure and %d with CUDA's, want %d and %d", n, c, tc.nominal, tc.cudaSide)
			}
			gain := float64(cuda.SessionsAtMaxModelLen())/float64(nominal.SessionsAtMaxModelLen()) - 1
			t.Logf("%s: %d → %d sessions (%+.0f%%), KV %d → %d B", tc.name, nominal.SessionsAtMaxModelLen(), cuda.SessionsAtMaxModelLen(), 100*gain, nominal.KVBudgetBytes, cuda.KVBudgetBytes)
			if gain < 0.10 || gain > 0.20 {
				t.Errorf("sessions grow by %.0f%% with CUDA's memory figure, want 10–20%%", 100*gain)
			}
		})
	}
}

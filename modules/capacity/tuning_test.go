package capacity

import (
	"slices"
	"strings"
	"testing"
)

// TestTuningDerived: without blueprint values, --max-num-seqs is what the
// KV cache holds at half of max_model_len, and the batch budget is vLLM's
// own default for the GPU, each with its reason.
func TestTuningDerived(t *testing.T) {
	p := compute(t, seedInput(t))
	tu := p.Tuning
	if tu.MaxNumSeqs != 70 || tu.MaxNumSeqsSource != TuningDerived {
		t.Errorf("max_num_seqs = %d (%s), want 70 derived: the 1,154,960 KV tokens hold 70 sequences of 16K", tu.MaxNumSeqs, tu.MaxNumSeqsSource)
	}
	if n, _ := p.Sessions.At(32768); tu.MaxNumSeqs != 2*n {
		t.Errorf("max_num_seqs %d is not twice the %d full-length sessions", tu.MaxNumSeqs, n)
	}
	if tu.MaxNumBatchedTokens != 8192 || tu.MaxNumBatchedTokensSource != TuningDerived {
		t.Errorf("max_num_batched_tokens = %d (%s), want vLLM's 8192 for GPUs of 70 GiB and more", tu.MaxNumBatchedTokens, tu.MaxNumBatchedTokensSource)
	}
	for _, why := range []string{tu.maxNumSeqsWhy, tu.batchedTokensWhy} {
		if !strings.Contains(why, "vLLM's own default") {
			t.Errorf("reason %q does not say what it follows", why)
		}
	}
	var out strings.Builder
	if err := p.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "max_num_seqs 70 (derived): the sequences the KV cache holds at half of max_model_len") {
		t.Errorf("the table does not print the derived value with its reason:\n%s", out.String())
	}

	// A small GPU gets vLLM's small defaults; a huge KV cache is capped at
	// vLLM's own default.
	in := Input{Hardware: hardware(t, "h100-80gb-sxm"), Model: model(t, "qwen3-30b-a3b"), Weights: "fp8", KVCacheDType: "fp8", MaxModelLen: 512}
	in.Hardware.GPUMemoryBytes = 60 << 30
	tu = compute(t, in).Tuning
	if tu.MaxNumSeqs != 256 || tu.MaxNumBatchedTokens != 2048 {
		t.Errorf("on a 60 GiB GPU: %d and %d, want vLLM's 256 and 2048", tu.MaxNumSeqs, tu.MaxNumBatchedTokens)
	}

	// SGLang: the same concurrency for --max-running-requests, and no
	// batch budget the project has not checked.
	in = seedInput(t)
	in.Engine = "sglang"
	tu = compute(t, in).Tuning
	if tu.MaxNumSeqs != 70 || tu.MaxNumBatchedTokens != 0 || !strings.Contains(tu.maxNumSeqsWhy, "--max-running-requests") {
		t.Errorf("sglang tuning = %+v", tu)
	}
}

// TestTuningOverridden: a blueprint value wins and says so; one above what
// the KV cache holds says what that costs.
func TestTuningOverridden(t *testing.T) {
	in := seedInput(t)
	in.MaxNumSeqs = 16
	in.MaxNumBatchedTokens = 16384
	tu := compute(t, in).Tuning
	if tu.MaxNumSeqs != 16 || tu.MaxNumSeqsSource != TuningGiven || tu.MaxNumBatchedTokens != 16384 || tu.MaxNumBatchedTokensSource != TuningGiven {
		t.Errorf("given values not kept: %+v", tu)
	}
	if strings.Contains(tu.maxNumSeqsWhy, "preempt") {
		t.Errorf("16 sequences fit, yet: %s", tu.maxNumSeqsWhy)
	}
	in.MaxNumSeqs = 512
	if why := compute(t, in).Tuning.maxNumSeqsWhy; !strings.Contains(why, "more than the 70 sequences") || !strings.Contains(why, "preempt") {
		t.Errorf("512 sequences: %s", why)
	}
}

// TestTuningAboveWhatFitsWarns: a given max_num_seqs above what the KV
// cache holds at half of max_model_len is a plan warning (so a build
// warning) that says what vLLM does then and what its guide advises; the
// derived value never is.
func TestTuningAboveWhatFitsWarns(t *testing.T) {
	in := seedInput(t)
	if w := compute(t, in).Warnings; slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "max_num_seqs") }) {
		t.Errorf("the derived value warns: %v", w)
	}
	in.MaxNumSeqs = 70
	if w := compute(t, in).Warnings; slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "max_num_seqs") }) {
		t.Errorf("70 sequences fit, yet: %v", w)
	}
	in.MaxNumSeqs = 71
	w := compute(t, in).Warnings
	if !slices.ContainsFunc(w, func(s string) bool {
		return strings.Contains(s, "max_num_seqs 71 is more than the 70 sequences") && strings.Contains(s, "preempts")
	}) {
		t.Errorf("71 sequences: %v", w)
	}
}

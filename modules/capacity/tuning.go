package capacity

import (
	"fmt"
	"math"
)

// Tuning is the engine concurrency and batch budget the plan derives for
// the engine's command line, each with why; a value the blueprint gives
// overrides the derived one.
type Tuning struct {
	// MaxNumSeqs is vLLM's --max-num-seqs (SGLang's --max-running-requests):
	// how many sequences the engine runs at once.
	MaxNumSeqs       int    `json:"max_num_seqs"`
	MaxNumSeqsSource string `json:"max_num_seqs_source"`
	// MaxNumBatchedTokens is vLLM's --max-num-batched-tokens: the tokens one
	// scheduler step may process, prefill chunks and decodes together.
	MaxNumBatchedTokens       int    `json:"max_num_batched_tokens"`
	MaxNumBatchedTokensSource string `json:"max_num_batched_tokens_source"`

	maxNumSeqsWhy, batchedTokensWhy string
	// fits is how many sequences the KV cache holds at half of
	// max_model_len, what a given max_num_seqs is weighed against.
	fits int
}

// Where a tuning value came from.
const (
	TuningGiven   = "given"
	TuningDerived = "derived"
	// TuningEngine: the plan leaves the value to the engine.
	TuningEngine = "engine"
)

// Derived are the values the plan derived, for the engine's command line;
// 0 for one the blueprint gives (it renders its own) or the engine picks.
func (t Tuning) Derived() (maxNumSeqs, maxNumBatchedTokens int) {
	if t.MaxNumSeqsSource == TuningDerived {
		maxNumSeqs = t.MaxNumSeqs
	}
	if t.MaxNumBatchedTokensSource == TuningDerived {
		maxNumBatchedTokens = t.MaxNumBatchedTokens
	}
	return maxNumSeqs, maxNumBatchedTokens
}

// vLLM's own defaults for the OpenAI-compatible server, by GPU size
// (EngineArgs._set_default_args in vllm/engine/arg_utils.py, v0.11 to
// v0.14): on GPUs with at least 70 GiB that are not A100s, 1024 sequences
// and 8192 batched tokens; otherwise 256 and 2048.
const (
	vllmBigGPUBytes           = 70 << 30
	vllmBigMaxNumSeqs         = 1024
	vllmBigBatchedTokens      = 8192
	vllmSmallMaxNumSeqs       = 256
	vllmSmallBatchedTokens    = 2048
	prefixSharingContextShare = 2 // sequences are sized at max_model_len ÷ this
)

// tuning derives the engine's concurrency from what the KV cache holds.
// At max_model_len every sequence could grow to the full context, but
// conversations sharing a system prompt share its KV blocks (prefix
// caching), and most are shorter: the default admits as many sequences as
// fit at half of max_model_len, so the engine neither preempts the moment
// a few grow long (vLLM recomputes a preempted sequence from scratch) nor
// queues people while memory sits idle. It never exceeds the engine's own
// default for the GPU.
func (s settings) tuning(blocks int64) Tuning {
	if s.Engine == "nim" {
		// NIM's command line is its own; sovereign passes it neither flag,
		// so the plan prints no value the engine would not get.
		why := "not set for NVIDIA NIM: its profile decides, and sovereign passes it no such flag"
		return Tuning{MaxNumSeqsSource: TuningEngine, MaxNumBatchedTokensSource: TuningEngine, maxNumSeqsWhy: why, batchedTokensWhy: why}
	}
	big := s.Hardware.GPUMemoryBytes >= vllmBigGPUBytes
	engineSeqs, engineTokens := vllmSmallMaxNumSeqs, vllmSmallBatchedTokens
	if big {
		engineSeqs, engineTokens = vllmBigMaxNumSeqs, vllmBigBatchedTokens
	}
	t := Tuning{MaxNumSeqsSource: TuningGiven, MaxNumBatchedTokensSource: TuningGiven}
	if s.MaxNumSeqs > 0 {
		t.MaxNumSeqs = s.MaxNumSeqs
		t.maxNumSeqsWhy = "given in the blueprint"
		ctx := max(s.maxModelLen/prefixSharingContextShare, 1)
		t.fits = sessionsAt(blocks, ctx)
		if fit := t.fits; s.MaxNumSeqs > fit {
			t.maxNumSeqsWhy += fmt.Sprintf("; more than the %d sequences the KV cache holds at half of max_model_len, so as conversations grow vLLM will preempt some and recompute them", fit)
		}
	} else {
		ctx := max(s.maxModelLen/prefixSharingContextShare, 1)
		fit := sessionsAt(blocks, ctx)
		t.MaxNumSeqs = max(min(fit, engineSeqs), 1)
		t.MaxNumSeqsSource = TuningDerived
		t.maxNumSeqsWhy = fmt.Sprintf("the sequences the KV cache holds at half of max_model_len (%d at %d tokens; %d at the full %d), leaving room for shared prefixes and shorter conversations, capped at vLLM's own default of %d for this GPU",
			fit, ctx, sessionsAt(blocks, s.maxModelLen), s.maxModelLen, engineSeqs)
		if s.Engine == "sglang" {
			t.maxNumSeqsWhy = fmt.Sprintf("SGLang's --max-running-requests: the sequences the KV cache holds at half of max_model_len (%d at %d tokens; %d at the full %d), leaving room for shared prefixes and shorter conversations",
				fit, ctx, sessionsAt(blocks, s.maxModelLen), s.maxModelLen)
			t.MaxNumSeqs = max(fit, 1)
		}
	}
	switch {
	case s.MaxNumBatchedTokens > 0:
		t.MaxNumBatchedTokens = s.MaxNumBatchedTokens
		t.batchedTokensWhy = "given in the blueprint"
	case s.Engine == "sglang":
		// SGLang sizes its chunked prefill by GPU memory itself; its rule
		// was not checked for this project, so the plan leaves it alone.
		t.MaxNumBatchedTokensSource = TuningEngine
		t.batchedTokensWhy = "not derived for SGLang: it sizes --chunked-prefill-size by GPU memory itself"
	default:
		t.MaxNumBatchedTokens = engineTokens
		t.MaxNumBatchedTokensSource = TuningDerived
		size := "under 70 GiB"
		if big {
			size = "of 70 GiB or more"
		}
		t.batchedTokensWhy = fmt.Sprintf("vLLM's own default for its API server on GPUs %s (%.0f GiB here), written out so that every machine runs what its plan says; vLLM's tuning guide: smaller budgets favour inter-token latency, larger ones time to first token and throughput",
			size, math.Floor(float64(s.Hardware.GPUMemoryBytes)/(1<<30)))
	}
	return t
}

package capacity_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
	"github.com/sovereign-collective/sovereign/modules/capacity"
)

func gb300Blueprint(t *testing.T, weights string, minSessions int, engines ...string) *spec.Blueprint {
	t.Helper()
	hw, _ := catalog.LookupHardware("dgx-station-gb300")
	arch, ok := catalog.LookupModel("qwen3-235b-a22b")
	if !ok {
		t.Fatal("qwen3-235b-a22b missing from the catalog")
	}
	m := &spec.Model{Name: "qwen3", Architecture: arch, Weights: weights}
	bp := &spec.Blueprint{Appliance: &spec.Appliance{Name: "coop", Hardware: hw}, Models: []*spec.Model{m}}
	for _, name := range engines {
		bp.Engines = append(bp.Engines, &spec.Engine{
			Kind: "vllm", Name: name, Model: m, MinSessions: minSessions,
			DeclRange:    hcl.Range{Filename: "bp.hcl", Start: hcl.Pos{Line: 10}},
			KVCacheDType: "fp8", MemoryFraction: 0.95, MaxModelLen: 32768,
			Ranges: map[spec.Setting]hcl.Range{
				spec.SettingMinSessions: {Filename: "bp.hcl", Start: hcl.Pos{Line: 12}},
				spec.SettingMaxModelLen: {Filename: "bp.hcl", Start: hcl.Pos{Line: 11}},
			},
		})
	}
	return bp
}

func TestBlueprintRefusesWhatCannotWork(t *testing.T) {
	tests := []struct {
		name        string
		weights     string
		minSessions int
		wantSummary string
		wantLine    int
		wantDetail  string
	}{
		{name: "awq fits", weights: "awq-int4", minSessions: 15},
		{name: "bf16 weights do not fit", weights: "bf16", wantSummary: "The engine does not fit on the GPU", wantLine: 11, wantDetail: "use awq-int4"},
		// 268.3 GB as CUDA counts it × 0.95 leaves 14.4 GB beside 236.2 GB
		// of fp8 weights and the 4 GiB reserve: 4 sessions of 32K.
		{name: "fp8 weights leave room for few sessions", weights: "fp8", minSessions: 15, wantSummary: "Fewer sessions than required", wantLine: 12, wantDetail: "holds 4 concurrent sessions"},
		{name: "below min_sessions", weights: "awq-int4", minSessions: 100, wantSummary: "Fewer sessions than required", wantLine: 12, wantDetail: "min_sessions is 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plans, diags := capacity.Blueprint(gb300Blueprint(t, tc.weights, tc.minSessions, "main"))
			if len(plans) != 1 {
				t.Fatalf("got %d plans, want 1", len(plans))
			}
			if tc.wantSummary == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected errors: %v", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != hcl.DiagError {
				t.Fatalf("want one error, got %v", diags)
			}
			d := diags[0]
			if d.Summary != tc.wantSummary || d.Subject == nil || d.Subject.Start.Line != tc.wantLine || !strings.Contains(d.Detail, tc.wantDetail) {
				t.Errorf("got %q at %v: %s; want %q at line %d mentioning %q", d.Summary, d.Subject, d.Detail, tc.wantSummary, tc.wantLine, tc.wantDetail)
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	one, _ := capacity.Blueprint(gb300Blueprint(t, "awq-int4", 0, "main"))
	b, err := capacity.JSON(one)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("one engine: not a JSON object: %v\n%s", err, b)
	}
	for _, k := range []string{"hardware", "model", "weights_bytes", "kv_budget_bytes", "kv_tokens", "cpu_kv_tokens", "sessions", "decode_tokens_per_s_ceiling", "fits", "warnings", "power"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("plan.json lacks %q", k)
		}
	}

	two, _ := capacity.Blueprint(gb300Blueprint(t, "awq-int4", 0, "a", "b"))
	b, err = capacity.JSON(two)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("two engines: not a JSON array: %v\n%s", err, b)
	}
	if len(list) != 2 || list[0]["engine"] != "a" || list[1]["engine"] != "b" || list[1]["kv_tokens"] == nil {
		t.Errorf("two engines: got %v", list)
	}
}

func TestEnginesSharingTheGPU(t *testing.T) {
	tests := []struct {
		name      string
		fractions []float64
		wantError bool
	}{
		{name: "halves fit", fractions: []float64{0.5, 0.45}},
		{name: "exactly all", fractions: []float64{0.6, 0.4}},
		{name: "overcommitted", fractions: []float64{0.6, 0.5}, wantError: true},
		{name: "unset fractions count as vLLM's 0.9", fractions: []float64{0, 0.2}, wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bp := gb300Blueprint(t, "awq-int4", 0, "big", "small")
			// Small enough models that each fits its own share.
			small, _ := catalog.LookupModel("qwen3-30b-a3b")
			for i, eng := range bp.Engines {
				eng.Model = &spec.Model{Name: "m", Architecture: small, Weights: "awq-int4"}
				eng.MemoryFraction = tc.fractions[i]
			}
			_, diags := capacity.Blueprint(bp)
			var got []string
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					got = append(got, d.Summary)
				}
			}
			switch {
			case tc.wantError && (len(got) != 1 || got[0] != "GPU memory overcommitted"):
				t.Errorf("want one overcommit error, got %v", diags)
			case !tc.wantError && len(got) != 0:
				t.Errorf("want no errors, got %v", diags)
			}
		})
	}
}

// TestForEngineTakesTheBlueprintsTuning: the plan derives the concurrency
// and batch budget only where the blueprint gives none, in a setting or an
// extra_args item (whose value is what the engine gets), and Derived hands
// the engine only what the plan derived; NIM gets neither.
func TestForEngineTakesTheBlueprintsTuning(t *testing.T) {
	bp := gb300Blueprint(t, "awq-int4", 0, "main")
	eng := bp.Engines[0]
	eng.Image.Ref = "docker.io/vllm/vllm-openai:v0.14.0"
	tuningOf := func() capacity.Tuning {
		t.Helper()
		p, err := capacity.Compute(capacity.ForEngine(bp.Appliance, eng))
		if err != nil {
			t.Fatal(err)
		}
		return p.Tuning
	}

	tu := tuningOf()
	seqs, tokens := tu.Derived()
	if tu.MaxNumSeqsSource != capacity.TuningDerived || seqs != tu.MaxNumSeqs || seqs < 1 || tokens != 8192 {
		t.Errorf("nothing given: %+v, derived %d %d", tu, seqs, tokens)
	}

	eng.MaxNumSeqs = 48
	eng.ExtraArgs = []string{"--max_num_batched_tokens", "16384"}
	tu = tuningOf()
	if tu.MaxNumSeqs != 48 || tu.MaxNumSeqsSource != capacity.TuningGiven || tu.MaxNumBatchedTokens != 16384 || tu.MaxNumBatchedTokensSource != capacity.TuningGiven {
		t.Errorf("setting and extra_args: %+v", tu)
	}
	if seqs, tokens := tu.Derived(); seqs != 0 || tokens != 0 {
		t.Errorf("given values are the blueprint's to render, yet Derived = %d, %d", seqs, tokens)
	}

	eng.Kind, eng.MaxNumSeqs, eng.ExtraArgs = "sglang", 0, []string{"--max-running-requests", "20"}
	if tu = tuningOf(); tu.MaxNumSeqs != 20 || tu.MaxNumSeqsSource != capacity.TuningGiven || tu.MaxNumBatchedTokensSource != capacity.TuningEngine {
		t.Errorf("sglang: %+v", tu)
	}

	eng.Kind, eng.ExtraArgs = "nim", nil
	tu = tuningOf()
	if seqs, tokens := tu.Derived(); seqs != 0 || tokens != 0 || tu.MaxNumSeqsSource != capacity.TuningEngine {
		t.Errorf("nim: %+v", tu)
	}
}

package catalog

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readConfig(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "configs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseHFConfigCountsParams reads config.json files written from the
// published architectures and checks the parameters counted from their
// dimensions against the published totals. Both figures are stated.
func TestParseHFConfigCountsParams(t *testing.T) {
	tests := []struct {
		config                          string
		family                          string
		publishedTotal, publishedActive float64
		countedTotal, countedActive     int64
		tolerance                       float64 // relative
	}{
		{
			config: "qwen3-235b-a22b", family: "qwen3_moe",
			publishedTotal: 235e9, publishedActive: 22e9,
			countedTotal: 235_093_634_560, countedActive: 22_190_763_520,
			tolerance: 0.02,
		},
		{
			config: "qwen3-30b-a3b", family: "qwen3_moe",
			publishedTotal: 30.5e9, publishedActive: 3.3e9,
			countedTotal: 30_532_122_624, countedActive: 3_353_032_704,
			tolerance: 0.02,
		},
		{
			// Qwen2.5-32B's card says 32.5B; the checkpoint holds 32.76B.
			config: "deepseek-r1-distill-qwen-32b", family: "qwen2",
			publishedTotal: 32.5e9, publishedActive: 32.5e9,
			countedTotal: 32_763_876_352, countedActive: 32_763_876_352,
			tolerance: 0.02,
		},
		{
			config: "llama-3.3-70b", family: "llama",
			publishedTotal: 70.6e9, publishedActive: 70.6e9,
			countedTotal: 70_553_706_496, countedActive: 70_553_706_496,
			tolerance: 0.02,
		},
		{
			// Moonshot publishes "1T" and "32B", rounded to one and two
			// significant figures; the dimensions give 1.026T and 32.9B.
			config: "kimi-k2", family: "deepseek_v3",
			publishedTotal: 1e12, publishedActive: 32e9,
			countedTotal: 1_026_408_209_408, countedActive: 32_861_477_888,
			tolerance: 0.03,
		},
		{
			// The text model only; the vision encoder is not counted.
			config: "llama-4-maverick", family: "llama4",
			publishedTotal: 400e9, publishedActive: 17e9,
			countedTotal: 400_711_848_960, countedActive: 17_184_691_200,
			tolerance: 0.02,
		},
		{
			// Without the multi-token-prediction layer (685B with it).
			config: "deepseek-v3", family: "deepseek_v3",
			publishedTotal: 671e9, publishedActive: 37e9,
			countedTotal: 671_026_404_352, countedActive: 37_552_282_624,
			tolerance: 0.02,
		},
		{
			config: "mixtral-8x7b", family: "mixtral",
			publishedTotal: 46.7e9, publishedActive: 12.9e9,
			countedTotal: 46_702_792_704, countedActive: 12_879_925_248,
			tolerance: 0.02,
		},
		{
			config: "qwen3-32b", family: "qwen3",
			publishedTotal: 32.8e9, publishedActive: 32.8e9,
			countedTotal: 32_762_123_264, countedActive: 32_762_123_264,
			tolerance: 0.02,
		},
		{
			// Tied embeddings: one vocab×hidden matrix, not two.
			config: "qwen2.5-0.5b", family: "qwen2",
			publishedTotal: 0.49e9, publishedActive: 0.49e9,
			countedTotal: 494_032_768, countedActive: 494_032_768,
			tolerance: 0.02,
		},
	}
	for _, tc := range tests {
		t.Run(tc.config, func(t *testing.T) {
			m, err := ParseHFConfig(tc.config, readConfig(t, tc.config))
			if err != nil {
				t.Fatalf("ParseHFConfig: %v", err)
			}
			if m.Family != tc.family {
				t.Errorf("Family = %q, want %q", m.Family, tc.family)
			}
			if m.ParamsTotal != tc.countedTotal || m.ParamsActive != tc.countedActive {
				t.Errorf("counted params = %d total, %d active; want %d, %d",
					m.ParamsTotal, m.ParamsActive, tc.countedTotal, tc.countedActive)
			}
			if off := relDiff(float64(m.ParamsTotal), tc.publishedTotal); off > tc.tolerance {
				t.Errorf("total %d is %.1f%% off the published %.4g", m.ParamsTotal, 100*off, tc.publishedTotal)
			}
			if off := relDiff(float64(m.ParamsActive), tc.publishedActive); off > tc.tolerance {
				t.Errorf("active %d is %.1f%% off the published %.4g", m.ParamsActive, 100*off, tc.publishedActive)
			}
		})
	}
}

func relDiff(got, want float64) float64 { return math.Abs(got-want) / want }

// TestCatalogMatchesConfigs checks each catalog entry against its
// config.json fixture: the same architecture, and published parameter
// figures within 2% of the count (3% for Kimi-K2's rounded "1T/32B").
func TestCatalogMatchesConfigs(t *testing.T) {
	for _, name := range ModelNames() {
		t.Run(name, func(t *testing.T) {
			want, _ := LookupModel(name)
			config := strings.TrimSuffix(name, "-instruct-2507")
			got, err := ParseHFConfig(name, readConfig(t, config))
			if err != nil {
				t.Fatalf("ParseHFConfig: %v", err)
			}
			ignore := cmpopts.IgnoreFields(Model{}, "ParamsTotal", "ParamsActive", "Source", "MaxPositionEmbeddings")
			if diff := cmp.Diff(want, got, ignore); diff != "" {
				t.Errorf("catalog entry and config.json differ (-catalog +config.json):\n%s", diff)
			}
			tolerance := 0.02
			if name == "kimi-k2" {
				tolerance = 0.03
			}
			if off := relDiff(float64(got.ParamsTotal), float64(want.ParamsTotal)); off > tolerance {
				t.Errorf("published total %d is %.1f%% off the count %d", want.ParamsTotal, 100*off, got.ParamsTotal)
			}
			if off := relDiff(float64(got.ParamsActive), float64(want.ParamsActive)); off > tolerance {
				t.Errorf("published active %d is %.1f%% off the count %d", want.ParamsActive, 100*off, got.ParamsActive)
			}
		})
	}
}

func TestParseHFConfigDefaults(t *testing.T) {
	// A llama config without num_key_value_heads or head_dim: multi-head
	// attention, head_dim = hidden_size / num_attention_heads.
	src := `{"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
	         "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 32000,
	         "max_position_embeddings": 4096}`
	got, err := ParseHFConfig("llama-2-7b", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Model{
		Name: "llama-2-7b", Family: "llama",
		Layers: 32, AttentionHeads: 32, KVHeads: 32, HeadDim: 128,
		Hidden: 4096, Intermediate: 11008, Vocab: 32000,
		ParamsTotal: 6_738_415_616, ParamsActive: 6_738_415_616,
		MaxPositionEmbeddings: 4096,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Model{}, "Source")); diff != "" {
		t.Errorf("ParseHFConfig mismatch (-want +got):\n%s", diff)
	}
}

func TestParseHFConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{
			name:    "not JSON",
			config:  `model_type = "llama"`,
			wantErr: "config.json: invalid character 'm' looking for beginning of value",
		},
		{
			name:    "no model_type",
			config:  `{"hidden_size": 4096}`,
			wantErr: `config.json: no "model_type" string (supported: deepseek_v3, kimi_k2, llama, llama4, llama4_text, mixtral, qwen2, qwen3, qwen3_moe)`,
		},
		{
			name:    "unknown model_type",
			config:  `{"model_type": "foo"}`,
			wantErr: `config.json: model_type "foo" is not supported (supported: deepseek_v3, kimi_k2, llama, llama4, llama4_text, mixtral, qwen2, qwen3, qwen3_moe)`,
		},
		{
			name: "qwen3_moe without experts",
			config: `{"model_type": "qwen3_moe", "hidden_size": 4096, "num_hidden_layers": 94,
			          "num_attention_heads": 64, "num_key_value_heads": 4, "head_dim": 128,
			          "vocab_size": 151936, "moe_intermediate_size": 1536, "num_experts_per_tok": 8}`,
			wantErr: `config.json: qwen3_moe needs "num_experts"`,
		},
		{
			name:    "qwen3 without head_dim",
			config:  `{"model_type": "qwen3", "hidden_size": 4096, "num_hidden_layers": 36, "num_attention_heads": 32, "vocab_size": 151936, "intermediate_size": 12288}`,
			wantErr: `config.json: qwen3 needs "head_dim"`,
		},
		{
			name:    "everything missing is named at once",
			config:  `{"model_type": "llama", "hidden_size": 4096}`,
			wantErr: `config.json: llama needs "num_hidden_layers", "num_attention_heads", "vocab_size" and "intermediate_size"`,
		},
		{
			name:    "llama4 without text_config",
			config:  `{"model_type": "llama4"}`,
			wantErr: `config.json: llama4 needs a "text_config" object`,
		},
		{
			name: "kimi_k2 without MLA ranks",
			config: `{"model_type": "kimi_k2", "hidden_size": 7168, "num_hidden_layers": 61,
			          "num_attention_heads": 64, "vocab_size": 163840, "intermediate_size": 18432,
			          "n_routed_experts": 384, "num_experts_per_tok": 8, "n_shared_experts": 1,
			          "moe_intermediate_size": 2048, "first_k_dense_replace": 1}`,
			wantErr: `config.json: kimi_k2 needs "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim" and "q_lora_rank"`,
		},
		{
			name:    "negative size",
			config:  `{"model_type": "llama", "hidden_size": -1, "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 10, "intermediate_size": 8}`,
			wantErr: `config.json: "hidden_size" = -1 is out of range 1..65536`,
		},
		{
			name:    "fractional layers",
			config:  `{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2.5, "num_attention_heads": 2, "vocab_size": 10, "intermediate_size": 8}`,
			wantErr: `config.json: "num_hidden_layers" must be an integer in 1..2048, not 2.5`,
		},
		{
			name:    "heads not a multiple of KV heads",
			config:  `{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 3, "vocab_size": 10, "intermediate_size": 8}`,
			wantErr: `config.json: num_attention_heads 4 is not a multiple of num_key_value_heads 3`,
		},
		{
			name: "more experts per token than experts",
			config: `{"model_type": "mixtral", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
			          "vocab_size": 10, "intermediate_size": 8, "num_local_experts": 2, "num_experts_per_tok": 3}`,
			wantErr: `config.json: num_experts_per_tok 3 is more than the 2 experts`,
		},
		{
			name:    "tie_word_embeddings as a string",
			config:  `{"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 10, "intermediate_size": 8, "tie_word_embeddings": "yes"}`,
			wantErr: `config.json: "tie_word_embeddings" must be true or false, not "yes"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHFConfig("m", []byte(tc.config))
			if err == nil {
				t.Fatalf("ParseHFConfig succeeded, want error %q", tc.wantErr)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error mismatch:\n got: %s\nwant: %s", err, tc.wantErr)
			}
		})
	}
}

// FuzzParseHFConfig checks that no input panics, and that whatever parses
// is a consistent model with sane parameter counts.
func FuzzParseHFConfig(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"model_type": "llama4", "text_config": null}`))
	f.Add([]byte(`{"model_type": "qwen3_moe", "mlp_only_layers": [0, 1e9, -1, "x"]}`))
	f.Add([]byte(`{"model_type": "deepseek_v3", "q_lora_rank": null, "first_k_dense_replace": 99}`))
	f.Fuzz(func(t *testing.T, config []byte) {
		m, err := ParseHFConfig("fuzz", config)
		if err != nil {
			return
		}
		if err := m.validate(); err != nil {
			t.Fatalf("ParseHFConfig returned an invalid model: %v", err)
		}
		if m.ParamsTotal <= 0 || m.ParamsActive <= 0 || m.ParamsActive > m.ParamsTotal {
			t.Fatalf("params total %d, active %d", m.ParamsTotal, m.ParamsActive)
		}
		if m.KVBytesPerToken(2) <= 0 {
			t.Fatalf("KVBytesPerToken(2) = %d", m.KVBytesPerToken(2))
		}
	})
}

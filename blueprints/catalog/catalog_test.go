package catalog

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHardwareNames(t *testing.T) {
	want := []string{"dgx-station-gb300", "gb10", "h100-80gb-pcie", "h100-80gb-sxm", "h200-141gb"}
	if diff := cmp.Diff(want, HardwareNames()); diff != "" {
		t.Errorf("HardwareNames() mismatch (-want +got):\n%s", diff)
	}
}

func TestModelNames(t *testing.T) {
	want := []string{
		"deepseek-r1-distill-qwen-32b", "kimi-k2", "llama-3.3-70b", "llama-4-maverick",
		"qwen3-235b-a22b", "qwen3-235b-a22b-instruct-2507", "qwen3-30b-a3b",
	}
	if diff := cmp.Diff(want, ModelNames()); diff != "" {
		t.Errorf("ModelNames() mismatch (-want +got):\n%s", diff)
	}
}

// hardwareFigures is the part of a Hardware entry the planner computes with.
type hardwareFigures struct {
	Platform                   string
	GPUs                       int
	GPUMemory, CPUMemory       int64
	GPUBandwidth, CPUBandwidth float64
	TDPWatts                   int
}

func TestLookupHardware(t *testing.T) {
	tests := []struct {
		name string
		want hardwareFigures
		// unverified is true where no primary datasheet confirms a figure or only a
		// spec listing gives it; the entry's source must say so.
		unverified bool
	}{
		{
			name: "dgx-station-gb300",
			want: hardwareFigures{
				Platform: "linux/arm64", GPUs: 1,
				// 252 GB converted as if binary, like the H200's: unmeasured.
				GPUMemory: 268_281_488_231, GPUBandwidth: 7.1e12,
				CPUMemory: 496e9, CPUBandwidth: 396e9,
				TDPWatts: 1600,
			},
			unverified: true, // the 396 GB/s LPDDR5X bandwidth
		},
		{
			name:       "h100-80gb-sxm",
			want:       hardwareFigures{Platform: "linux/amd64", GPUs: 1, GPUMemory: 85_168_726_422, GPUBandwidth: 3.35e12, TDPWatts: 700},
			unverified: true, // the TDP
		},
		{
			name:       "h100-80gb-pcie",
			want:       hardwareFigures{Platform: "linux/amd64", GPUs: 1, GPUMemory: 85_168_726_422, GPUBandwidth: 2.0e12, TDPWatts: 350},
			unverified: true,
		},
		{
			name:       "h200-141gb",
			want:       hardwareFigures{Platform: "linux/amd64", GPUs: 1, GPUMemory: 150_109_880_320, GPUBandwidth: 4.8e12, TDPWatts: 700},
			unverified: true, // the TDP
		},
		{
			name:       "gb10",
			want:       hardwareFigures{Platform: "linux/arm64", GPUs: 1, GPUMemory: 128e9, GPUBandwidth: 273e9, TDPWatts: 140},
			unverified: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := LookupHardware(tc.name)
			if !ok {
				t.Fatalf("LookupHardware(%q) not found", tc.name)
			}
			got := hardwareFigures{
				Platform: h.Platform(), GPUs: h.GPUs,
				GPUMemory: h.GPUMemoryBytes, GPUBandwidth: h.GPUBandwidthBytesPerS,
				CPUMemory: h.CPUMemoryBytes, CPUBandwidth: h.CPUBandwidthBytesPerS,
				TDPWatts: h.TDPWatts,
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LookupHardware(%q) mismatch (-want +got):\n%s", tc.name, diff)
			}
			if tc.unverified && !strings.Contains(h.Source, "unverified") {
				t.Errorf("source of %q does not say which figures are unverified: %q", tc.name, h.Source)
			}
		})
	}
	if _, ok := LookupHardware("dgx-station-gb200"); ok {
		t.Error(`LookupHardware("dgx-station-gb200") found an entry that does not exist`)
	}
}

// TestGPUMemoryAsCUDAReportsIt: the catalog's memory is what CUDA reports,
// which vLLM multiplies by gpu_memory_utilization. Only the H200 was
// measured; the rule that converts the others reproduces it exactly and
// the H100's published nvidia-smi total within 0.4 %, and each converted
// entry says it is unmeasured.
func TestGPUMemoryAsCUDAReportsIt(t *testing.T) {
	if got := CUDABytesFromNominal(141e9); got != 150_109_880_320 {
		t.Errorf("the rule gives %d B for the H200, which measured 150109880320", got)
	}
	// nvidia-smi: 81,559 MiB total for an H100 80GB; less the 616 MiB
	// reserve seen on the H200.
	smi := float64((81_559 - 616) << 20)
	if got := float64(CUDABytesFromNominal(80e9)); got < smi || got > smi*1.004 {
		t.Errorf("the rule gives %g B for an H100 80GB; nvidia-smi suggests %g", got, smi)
	}
	for _, name := range HardwareNames() {
		h, _ := LookupHardware(name)
		switch {
		case h.GPUMemoryMeasured && !strings.Contains(h.Source, "measured on"):
			t.Errorf("%s: measured memory without saying where it was measured", name)
		case !h.GPUMemoryMeasured && !strings.Contains(h.Source, "unmeasured"):
			t.Errorf("%s: converted memory without saying it is unmeasured: %q", name, h.Source)
		case h.GPUMemoryBytes < h.GPUMemoryNominalBytes:
			t.Errorf("%s: CUDA memory %d below the nominal %d", name, h.GPUMemoryBytes, h.GPUMemoryNominalBytes)
		}
	}
	if h, _ := LookupHardware("gb10"); h.GPUMemoryBytes != 128e9 {
		t.Errorf("gb10's unified LPDDR5X is not HBM and must not be converted: %d", h.GPUMemoryBytes)
	}
}

// TestAchievableBandwidth: the measured H200 streams at 4.17 of its
// datasheet 4.8 TB/s; other GPUs are assumed to reach the same share.
func TestAchievableBandwidth(t *testing.T) {
	h200, _ := LookupHardware("h200-141gb")
	if bw, measured := h200.AchievableBandwidth(); bw != 4.17e12 || !measured {
		t.Errorf("h200: %g measured=%v", bw, measured)
	}
	gb300, _ := LookupHardware("dgx-station-gb300")
	if bw, measured := gb300.AchievableBandwidth(); measured || bw < 6.16e12 || bw > 6.17e12 {
		t.Errorf("gb300: %g measured=%v, want 7.1 TB/s × 4.17/4.8", bw, measured)
	}
}

// TestKVBytesPerToken reproduces the per-token KV cache sizes worked out by hand from each config.json.
func TestKVBytesPerToken(t *testing.T) {
	tests := []struct {
		model      string
		bf16, fp8  int64
		session32K int64 // fp8 bytes for one 32768-token sequence
	}{
		{model: "qwen3-235b-a22b", bf16: 192_512, fp8: 96_256, session32K: 3_154_116_608},
		{model: "qwen3-30b-a3b", bf16: 98_304, fp8: 49_152, session32K: 1_610_612_736},
		{model: "deepseek-r1-distill-qwen-32b", bf16: 262_144, fp8: 131_072, session32K: 4 << 30},
		{model: "llama-3.3-70b", bf16: 327_680, fp8: 163_840, session32K: 5 << 30},
		{model: "llama-4-maverick", bf16: 196_608, fp8: 98_304, session32K: 3 << 30},
		{model: "kimi-k2", bf16: 70_272, fp8: 35_136, session32K: 1_151_336_448},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			m, ok := LookupModel(tc.model)
			if !ok {
				t.Fatalf("LookupModel(%q) not found", tc.model)
			}
			if got := m.KVBytesPerToken(2); got != tc.bf16 {
				t.Errorf("KVBytesPerToken(2) = %d, want %d", got, tc.bf16)
			}
			if got := m.KVBytesPerToken(1); got != tc.fp8 {
				t.Errorf("KVBytesPerToken(1) = %d, want %d", got, tc.fp8)
			}
			if got := 32768 * m.KVBytesPerToken(1); got != tc.session32K {
				t.Errorf("32768 tokens at fp8 = %d B, want %d", got, tc.session32K)
			}
		})
	}
}

func TestMaxPositionEmbeddings(t *testing.T) {
	want := map[string]int{
		"deepseek-r1-distill-qwen-32b":  131072,
		"kimi-k2":                       131072,
		"llama-3.3-70b":                 131072,
		"llama-4-maverick":              1048576,
		"qwen3-235b-a22b":               40960,
		"qwen3-235b-a22b-instruct-2507": 262144,
		"qwen3-30b-a3b":                 40960,
	}
	got := map[string]int{}
	for _, name := range ModelNames() {
		m, _ := LookupModel(name)
		got[name] = m.MaxPositionEmbeddings
		if m.Source == "" {
			t.Errorf("model %q has no source", name)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("max_position_embeddings mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name    string
		load    func() error
		wantErr string
	}{
		{
			name: "hardware defined twice",
			load: func() error {
				src := `
hardware "a" {
  description = "x"
  arch = "arm64"
  gpus = 1
  gpu_memory_nominal_bytes = 1e9
  gpu_bandwidth_bytes_per_s = 1e9
  tdp_watts = 1
  source = "test"
}
hardware "a" {
  description = "x"
  arch = "arm64"
  gpus = 1
  gpu_memory_nominal_bytes = 1e9
  gpu_bandwidth_bytes_per_s = 1e9
  tdp_watts = 1
  source = "test"
}`
				_, err := loadHardware("hw.hcl", []byte(src))
				return err
			},
			wantErr: `hw.hcl: hardware "a" is defined twice`,
		},
		{
			name: "hardware with a uname-style arch and no source",
			load: func() error {
				src := `
hardware "a" {
  description = "x"
  arch = "x86_64"
  gpus = 1
  gpu_memory_nominal_bytes = 1e9
  gpu_bandwidth_bytes_per_s = 1e9
  tdp_watts = 1
  source = ""
}`
				_, err := loadHardware("hw.hcl", []byte(src))
				return err
			},
			wantErr: "hw.hcl: hardware \"a\": arch \"x86_64\" is not arm64 or amd64\nsource must say where the figures come from",
		},
		{
			name: "hardware missing an attribute",
			load: func() error {
				_, err := loadHardware("hw.hcl", []byte(`hardware "a" { arch = "arm64" }`))
				return err
			},
			wantErr: `Missing required argument`,
		},
		{
			name: "model whose experts have no layers",
			load: func() error {
				src := `
model "m" {
  family = "qwen3_moe"
  layers = 2
  hidden = 8
  attention_heads = 2
  kv_heads = 1
  head_dim = 4
  intermediate = 16
  vocab = 10
  experts = 4
  experts_per_token = 2
  moe_intermediate = 8
  params_total = 1000
  params_active = 100
  source = "test"
}`
				_, err := loadModels("models.hcl", []byte(src))
				return err
			},
			wantErr: `models.hcl: model "m": MoE needs experts_per_token (1..experts), moe_intermediate and moe_layers (1..layers)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// TestEmbeddedCatalogsLoad: the catalogs built into the binary load, so
// Check never reports a bug in a release.
func TestEmbeddedCatalogsLoad(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	if len(HardwareNames()) == 0 || len(ModelNames()) == 0 {
		t.Fatalf("hardware %v, models %v", HardwareNames(), ModelNames())
	}
}

// TestBrokenCatalogIsReported: a catalog that does not load is an error
// Check returns, naming the entry, and no lookup finds anything, instead of
// a crash at start-up.
func TestBrokenCatalogIsReported(t *testing.T) {
	saved := embedded
	t.Cleanup(func() { embedded = saved })
	embedded = sync.OnceValues(func() (*catalogs, error) {
		_, err := loadHardware("data/hardware.hcl", []byte(`hardware "a" { arch = "arm64" }`))
		return nil, err
	})
	err := Check()
	if err == nil || !strings.Contains(err.Error(), "bug: sovereign's built-in catalog does not load") || !strings.Contains(err.Error(), "data/hardware.hcl") {
		t.Fatalf("Check() = %v", err)
	}
	if _, ok := LookupHardware("dgx-station-gb300"); ok || len(ModelNames()) != 0 {
		t.Error("a broken catalog still answers lookups")
	}
}

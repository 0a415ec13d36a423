package capacity

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/sovereign-collective/sovereign/tests/golden"
)

// TestGolden pins whole plans, as JSON (README's plan.json) and as the table
// `sovereign plan` prints. Rewrite the files with `go test -update` here or
// SOVEREIGN_UPDATE_GOLDEN=1 (make golden), never by hand.
func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Input)
	}{
		{name: "gb300-qwen3-235b-awq", change: func(*Input) {}},
		{name: "gb300-qwen3-235b-fp8", change: func(in *Input) { in.Weights = "fp8" }},
		{
			name: "h100-qwen3-30b-bf16",
			change: func(in *Input) {
				*in = Input{
					Hardware:     hardware(t, "h100-80gb-sxm"),
					Model:        model(t, "qwen3-30b-a3b"),
					Weights:      "bf16",
					KVCacheDType: "auto",
					MaxModelLen:  32768,
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := seedInput(t)
			tc.change(&in)
			p := compute(t, in)

			js, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".json.golden"), append(js, '\n'))

			var table bytes.Buffer
			if err := p.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name+".table.golden"), table.Bytes())
		})
	}
}

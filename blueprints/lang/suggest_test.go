package lang

import (
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	hardware := []string{"dgx-station-gb300", "gb10", "h100-80gb-pcie", "h100-80gb-sxm", "h200-141gb"}
	for _, c := range []struct {
		name    string
		s       string
		options []string
		want    []string
	}{
		// A shortened name beats a short one nearer by edit distance:
		// "gb10" is two edits from "gb300".
		{"shortened name", "gb300", hardware, []string{"dgx-station-gb300"}},
		{"shortened, two fit", "h100", hardware, []string{"h100-80gb-pcie", "h100-80gb-sxm"}},
		{"misspelt", "dgx-station-gb200", hardware, []string{"dgx-station-gb300"}},
		{"case", "Hermes", []string{"hermes", "mistral"}, []string{"hermes"}},
		{"prefix of a choice", "fp8", []string{"auto", "bf16", "fp4_e2m1", "fp8_e4m3", "fp8_e5m2"}, []string{"fp8_e4m3", "fp8_e5m2"}},
		{"flag typo", "--kv-cahce-dtype", []string{"--kv-cache-dtype", "--kv-cache-memory", "--dtype"}, []string{"--kv-cache-dtype"}},
		// A part must stand between separators: "tation" is inside
		// "dgx-station-gb300" but is no part of it.
		{"not a part", "tation", hardware, nil},
		{"nothing near", "tpu-v5", hardware, nil},
		{"the name itself", "gb10", hardware, nil},
		{"empty", "", hardware, nil},
		// Too many equally likely names are no hint.
		{"too many", "x", []string{"x-a", "x-b", "x-c", "x-d"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Closest(c.s, c.options); !slices.Equal(got, c.want) {
				t.Errorf("Closest(%q) = %q, want %q", c.s, got, c.want)
			}
		})
	}
}

func TestSuggestWording(t *testing.T) {
	if got, want := Suggest("gb300", []string{"dgx-station-gb300", "gb10"}), ` Did you mean "dgx-station-gb300"?`; got != want {
		t.Errorf("Suggest = %q, want %q", got, want)
	}
	if got, want := SuggestBare("fp8", []string{"fp8_e4m3", "fp8_e5m2"}), " Did you mean fp8_e4m3 or fp8_e5m2?"; got != want {
		t.Errorf("SuggestBare = %q, want %q", got, want)
	}
	if got := Suggest("zzz", []string{"a"}); got != "" {
		t.Errorf("Suggest with nothing near = %q, want empty", got)
	}
}

package lang_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovereign-collective/sovereign/blueprints/lang"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{name: "binary gigabytes", in: "256GiB", want: 256 << 30},
		{name: "decimal gigabytes", in: "128GB", want: 128e9},
		{name: "fraction of a binary terabyte", in: "1.5TiB", want: 3 << 39},
		{name: "kibibytes", in: "4KiB", want: 4096},
		{name: "kilobytes", in: "4KB", want: 4000},
		{name: "mebibytes", in: "512MiB", want: 512 << 20},
		{name: "megabytes", in: "512MB", want: 512e6},
		{name: "decimal terabytes", in: "2TB", want: 2e12},
		{name: "bytes", in: "1024B", want: 1024},
		{name: "zero", in: "0GiB", want: 0},
		{name: "spaces around and before the unit", in: " 16 GiB ", want: 16 << 30},
		{name: "exponent", in: "1e3KB", want: 1e6},
		{name: "largest that fits", in: "8388607TiB", want: 8388607 << 40},

		{name: "bare number", in: "256", wantErr: `"256" needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB`},
		{name: "empty", in: "", wantErr: `"" needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB`},
		{name: "lower-case unit", in: "256gb", wantErr: `"256gb" needs a unit: B, KB, MB, GB, TB, KiB, MiB, GiB or TiB`},
		{name: "unit alone", in: "GiB", wantErr: `"GiB" is not a number followed by a unit`},
		{name: "word", in: "lotsGB", wantErr: `"lotsGB" is not a number followed by a unit`},
		{name: "unknown unit ending in B", in: "8EB", wantErr: `"8EB" is not a number followed by a unit`},
		{name: "negative", in: "-1GB", wantErr: `"-1GB" is out of range`},
		{name: "too large", in: "9999999TB", wantErr: `"9999999TB" is out of range`},
		{name: "exactly 2^63 bytes", in: "8388608TiB", wantErr: `"8388608TiB" is out of range`},
		{name: "infinite", in: "InfGB", wantErr: `"InfGB" is out of range`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lang.ParseSize(tc.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("ParseSize(%q) error mismatch (-want +got):\n%s", tc.in, diff)
			}
			if err == nil && got != tc.want {
				t.Errorf("ParseSize(%q) = %d, want %d", tc.in, got, tc.want)
			}
			if got < 0 {
				t.Errorf("ParseSize(%q) = %d, a size cannot be negative", tc.in, got)
			}
		})
	}
}

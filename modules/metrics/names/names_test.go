package names

import (
	"strings"
	"testing"

	"github.com/sovereign-collective/sovereign/modules/engineflags"
)

// The names vLLM removed between v0.11 and v0.14 pass against v0.11 and are
// refused against v0.14, with the rename suggested.
func TestCheckFollowsTheRelease(t *testing.T) {
	v11, err := Engine("vllm", "docker.io/vllm/vllm-openai:v0.11.0")
	if err != nil {
		t.Fatal(err)
	}
	v14, err := Engine("vllm", "docker.io/vllm/vllm-openai:v0.14.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{
		"vllm:gpu_cache_usage_perc > 0.9",
		`histogram_quantile(0.9, sum by (le) (rate(vllm:time_per_output_token_seconds_bucket[5m])))`,
	} {
		if p := Check(expr, v11); len(p) != 0 {
			t.Errorf("v0.11.0 refuses %s: %v", expr, p)
		}
		if p := Check(expr, v14); len(p) != 1 || p[0].Summary != "Unknown metric" {
			t.Errorf("v0.14.0: Check(%s) = %v, want one unknown metric", expr, p)
		}
	}
	p := Check("vllm:gpu_cache_usage_perc > 0.9", v14)
	if len(p) != 1 || !strings.Contains(p[0].Detail, "Did you mean vllm:kv_cache_usage_perc?") {
		t.Errorf("no rename suggested: %v", p)
	}
	// The new name of a renamed histogram keeps the series suffix; by
	// spelling alone the nearest names are unrelated histograms.
	p = Check("rate(vllm:time_per_output_token_seconds_count[5m])", v14)
	if len(p) != 1 || !strings.Contains(p[0].Detail, "Did you mean vllm:inter_token_latency_seconds_count? vLLM v0.11.0 deprecates this name for it.") {
		t.Errorf("renamed histogram: %v", p)
	}
	if d := Deprecated("vllm:gpu_cache_usage_perc", v11); len(d) != 1 {
		t.Errorf("Deprecated = %v, want the GPU-prefixed name", d)
	}
}

// Problems carry the byte range of the selector (or parse error) in the
// expression, so that the blueprint's diagnostic points inside it.
func TestCheckLocatesProblems(t *testing.T) {
	expr := `sum(rate(vllm:prompt_tokens_total[5m])) + nope_total{job="x"}`
	p := Check(expr, vllmV0140)
	if len(p) != 1 {
		t.Fatalf("Check = %v, want one problem", p)
	}
	if got := expr[p[0].Start:p[0].End]; got != `nope_total{job="x"}` {
		t.Errorf("problem at %q, want the unknown selector", got)
	}
	bad := Check("rate(vllm:prompt_tokens_total[5m]", vllmV0140)
	if len(bad) == 0 || bad[0].Summary != "Invalid PromQL" {
		t.Errorf("Check of unbalanced parentheses = %v", bad)
	}
	// Names selected through __name__ are checked too; regular expressions
	// and selectors without a name are not.
	if p := Check(`{__name__="nope"}`, vllmV0140); len(p) != 1 {
		t.Errorf(`{__name__="nope"}: %v`, p)
	}
	if p := Check(`{__name__=~"vllm:.*"} or {job="engine"}`, vllmV0140); len(p) != 0 {
		t.Errorf("unnamed selectors: %v", p)
	}
}

func TestUnknownRelease(t *testing.T) {
	_, err := Engine("vllm", "docker.io/vllm/vllm-openai:v0.9.2")
	if err == nil || !strings.Contains(err.Error(), "v0.11.0, v0.14.0") {
		t.Errorf("Engine(v0.9.2) error = %v, want the known releases named", err)
	}
}

// Every list names each family once.
func TestListsHaveNoDuplicates(t *testing.T) {
	all := []*List{vllmV0110, vllmV0140, sglangV059, Prometheus, NodeExporter, DCGMExporter, NUTExporter, BlackboxExporter}
	for _, l := range all {
		seen := map[string]bool{}
		for _, n := range l.Names() {
			if seen[n] {
				t.Errorf("%s lists %s twice", l.Name, n)
			}
			seen[n] = true
		}
	}
}

// Each release with a metric list has a flag table too: the two describe
// the same releases, read from the same image tags.
func TestReleasesMatchFlagTables(t *testing.T) {
	for kind, releases := range engines {
		for release := range releases {
			if _, err := engineflags.Lookup(kind, release); err != nil {
				t.Errorf("%s %s has metric names but no flag table: %v", kind, release, err)
			}
		}
	}
}

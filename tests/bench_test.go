package tests

import (
	"testing"

	"github.com/spf13/afero"

	"github.com/sovereign-collective/sovereign/blueprints/decode"
	"github.com/sovereign-collective/sovereign/blueprints/lang"
	"github.com/sovereign-collective/sovereign/cmd/sovereign/pipeline"
	"github.com/sovereign-collective/sovereign/modules/engines"
)

// BenchmarkBuildReference measures a whole build of the reference GB300
// blueprint, from reading the files to the output tree in memory:
// go test -run '^$' -bench BuildReference -benchmem ./tests/
func BenchmarkBuildReference(b *testing.B) {
	osfs := afero.NewOsFs()
	for i := 0; i < b.N; i++ {
		p := decode.NewLoader(osfs, engines.Kinds)
		res, diags := pipeline.Build(p, referenceCases[0].path, lang.Inputs{})
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		mem := afero.NewMemMapFs()
		if err := pipeline.Write(mem, "/out", res); err != nil {
			b.Fatal(err)
		}
	}
}

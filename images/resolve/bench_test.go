package resolve_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/images"
	"github.com/sovereign-collective/sovereign/images/imagestest"
)

// BenchmarkResolve30 resolves 30 multi-platform images against a registry
// that adds 25ms to every request, as a distant registry does, with the
// default parallelism and one by one, and reports both and their ratio:
//
//	go test -run '^$' -bench Resolve30 ./images/resolve/
func BenchmarkResolve30(b *testing.B) {
	const n, latency = 30, 25 * time.Millisecond
	var slow atomic.Bool
	delay := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if slow.Load() {
				time.Sleep(latency)
			}
			h.ServeHTTP(w, req)
		})
	}
	reg := imagestest.NewRegistry(b, delay)
	var refs []images.Ref
	for i := range n {
		ref := reg.Ref(fmt.Sprintf("bench/engine%02d:v1", i))
		imagestest.PushIndex(b, ref, []string{"linux/amd64", "linux/arm64"})
		refs = append(refs, parseRef(b, ref))
	}
	slow.Store(true)
	resolveAll := func(parallel int) time.Duration {
		r := fast()
		r.Parallel = parallel
		start := time.Now()
		got, err := r.Resolve(context.Background(), refs, []string{"linux/arm64"})
		if err != nil || len(got) != n {
			b.Fatalf("resolved %d of %d: %v", len(got), n, err)
		}
		return time.Since(start)
	}
	var serial, parallel time.Duration
	b.ResetTimer()
	for b.Loop() {
		parallel += resolveAll(0) // the default, as `sovereign lock` runs
		serial += resolveAll(1)
	}
	b.ReportMetric(float64(parallel.Milliseconds())/float64(b.N), "parallel-ms/op")
	b.ReportMetric(float64(serial.Milliseconds())/float64(b.N), "serial-ms/op")
	b.ReportMetric(float64(serial)/float64(parallel), "speedup")
}

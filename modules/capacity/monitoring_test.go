package capacity

import (
	"testing"
	"time"

	"github.com/sovereign-collective/sovereign/blueprints/catalog"
	"github.com/sovereign-collective/sovereign/blueprints/spec"
)

// The plan shows the monitoring stack's share of the host only with a
// metrics block, and its disk grows with the retention.
func TestMonitoringFootprint(t *testing.T) {
	bp := &spec.Blueprint{
		Appliance: &spec.Appliance{Hardware: catalog.Hardware{GPUs: 1}},
		Engines:   []*spec.Engine{{Name: "main"}},
	}
	if m := monitoring(bp); m != nil {
		t.Errorf("monitoring without a metrics block = %+v", m)
	}
	bp.Metrics = &spec.Metrics{Retention: 15 * 24 * time.Hour, ScrapeInterval: 15 * time.Second}
	short := monitoring(bp)
	if short == nil || short.MemoryBytes < 1<<30 || short.CPUCores <= 0 || short.DiskBytes <= 0 {
		t.Fatalf("monitoring = %+v", short)
	}
	bp.Metrics.Retention *= 2
	if long := monitoring(bp); long.DiskBytes != 2*short.DiskBytes || long.MemoryBytes != short.MemoryBytes {
		t.Errorf("twice the retention: %+v, was %+v", long, short)
	}
	bp.UPS = &spec.UPS{Name: "main"}
	if withUPS := monitoring(bp); withUPS.MemoryBytes <= short.MemoryBytes {
		t.Errorf("the UPS exporter adds nothing: %+v", withUPS)
	}
}

package loadbalancer

import (
	"testing"

	"k8s.io/component-base/metrics"

	"github.com/floatlb/floatlb/internal/metricnames"
)

func TestMetricNames(t *testing.T) {
	collectors := NewMetrics().Collectors()
	if len(collectors) == 0 {
		t.Fatal("no metric")
	}
	for _, c := range collectors {
		var k metricnames.Kind
		switch c.(type) {
		case *metrics.Gauge, *metrics.GaugeVec:
			k = metricnames.Gauge
		case *metrics.Counter, *metrics.CounterVec:
			k = metricnames.Counter
		case *metrics.Histogram, *metrics.HistogramVec:
			k = metricnames.Histogram
		default:
			t.Errorf("a metric of type %T: not a counter, gauge or histogram", c)
			continue
		}
		if err := metricnames.Check(k, c.FQName()); err != nil {
			t.Error(err)
		}
	}
}

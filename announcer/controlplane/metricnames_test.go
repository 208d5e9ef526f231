package controlplane

import (
	"testing"

	"github.com/floatlb/floatlb/internal/metricnames"
)

func TestMetricNames(t *testing.T) {
	var r metricnames.Registerer
	newMetrics(&r)
	for _, err := range r.Failures() {
		t.Error(err)
	}
}

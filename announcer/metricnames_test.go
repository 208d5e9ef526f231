package announcer

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floatlb/floatlb/internal/metricnames"
)

func TestMetricNames(t *testing.T) {
	var r metricnames.Registerer
	newMetrics(&r)
	for _, err := range r.Failures() {
		t.Error(err)
	}
}

// Counters without labels are there before their first increase, so that
// increase() sees it.
func TestUnlabelledCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	newMetrics(reg)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range families {
		have[f.GetName()] = true
	}
	for _, name := range []string{"floatlb_vrrp_foreign_routers_total", "floatlb_l2_lease_renewal_failures_total"} {
		if !have[name] {
			t.Errorf("%s is not exported before its first increase", name)
		}
	}
}

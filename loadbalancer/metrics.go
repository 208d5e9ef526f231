package loadbalancer

import (
	"k8s.io/component-base/metrics"

	"github.com/floatlb/floatlb/loadbalancer/ipam"
)

// Metrics are the CCM's floatlb_ metrics. Nothing registers itself: main
// registers Collectors() with the CCM's registry.
type Metrics struct {
	ConfigValid      *metrics.Gauge
	PoolAddresses    *metrics.GaugeVec
	PoolInUse        *metrics.GaugeVec
	ConflictingIPs   *metrics.Counter
	AllocationErrors *metrics.CounterVec
}

// NewMetrics returns unregistered metrics; register Collectors() explicitly.
func NewMetrics() *Metrics {
	return &Metrics{
		ConfigValid: metrics.NewGauge(&metrics.GaugeOpts{
			Name:           "floatlb_config_valid",
			Help:           "1 when the last floatlb config read was valid and applied, 0 when it was refused (the last good config stays in force).",
			StabilityLevel: metrics.ALPHA,
		}),
		PoolAddresses: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Name:           "floatlb_ipam_pool_addresses",
			Help:           "Addresses a pool can hand out, per family.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"pool", "family"}),
		PoolInUse: metrics.NewGaugeVec(&metrics.GaugeOpts{
			Name:           "floatlb_ipam_pool_addresses_in_use",
			Help:           "Addresses of a pool held by Services, per family.",
			StabilityLevel: metrics.ALPHA,
		}, []string{"pool", "family"}),
		ConflictingIPs: metrics.NewCounter(&metrics.CounterOpts{
			Name:           "floatlb_ipam_conflicting_claims_total",
			Help:           "Services found claiming an address that an older Service holds, when the allocator was rebuilt.",
			StabilityLevel: metrics.ALPHA,
		}),
		AllocationErrors: metrics.NewCounterVec(&metrics.CounterOpts{
			Name:           "floatlb_ipam_allocation_errors_total",
			Help:           "Allocations that failed, by reason (exhausted, in_use, no_pool, no_config, invalid).",
			StabilityLevel: metrics.ALPHA,
		}, []string{"reason"}),
	}
}

// Collectors returns every metric, for a registry's MustRegister.
func (m *Metrics) Collectors() []metrics.Registerable {
	return []metrics.Registerable{m.ConfigValid, m.PoolAddresses, m.PoolInUse, m.ConflictingIPs, m.AllocationErrors}
}

// observePools sets the pool gauges from the allocator's figures.
func (m *Metrics) observePools(stats []ipam.PoolStats) {
	m.PoolAddresses.Reset()
	m.PoolInUse.Reset()
	for _, s := range stats {
		m.PoolAddresses.WithLabelValues(s.Pool, s.Family.String()).Set(float64(s.Size))
		m.PoolInUse.WithLabelValues(s.Pool, s.Family.String()).Set(float64(s.InUse))
	}
}

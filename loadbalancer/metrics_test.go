package loadbalancer

import "k8s.io/component-base/metrics"

// gathererFor registers m in a fresh registry for a test to gather.
// component-base metrics record nothing until they are registered.
func gathererFor(m *Metrics) metrics.Gatherer {
	r := metrics.NewKubeRegistry()
	r.MustRegister(m.Collectors()...)
	return r
}

package controlplane

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	healthy       prometheus.Gauge
	held          prometheus.Gauge
	probeFailures prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		healthy: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floatlb_control_plane_apiserver_healthy",
			Help: "1 while the local kube-apiserver answers /readyz (after the hysteresis), else 0.",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "floatlb_control_plane_vip_held",
			Help: "1 while this node holds (vrrp master, l2 Lease holder) or advertises (bgp) the control-plane VIP.",
		}),
		probeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "floatlb_control_plane_probe_failures_total",
			Help: "Probes of the local kube-apiserver's /readyz that failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.healthy, m.held, m.probeFailures)
	}
	return m
}

func (m *metrics) setHeld(held bool) {
	if held {
		m.held.Set(1)
	} else {
		m.held.Set(0)
	}
}

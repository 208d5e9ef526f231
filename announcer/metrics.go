package announcer

import "github.com/prometheus/client_golang/prometheus"

// metrics are the announcer's floatlb_ metrics.
type metrics struct {
	configValid *prometheus.GaugeVec
	announced   *prometheus.GaugeVec
	refused     *prometheus.CounterVec
	bgpSession  *prometheus.GaugeVec
	bgpMD5Hint  *prometheus.GaugeVec
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		configValid: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_config_valid",
			Help: "1 when the last floatlb config read was valid and applied, 0 when it was refused (the last good config stays in force).",
		}, nil),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_announcer_announced_addresses",
			Help: "Addresses this node announces, by mode.",
		}, []string{"mode"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_announcer_refused_addresses_total",
			Help: "Addresses in a Service's status that the announcer refused to announce, by reason (outside_pools).",
		}, []string{"reason"}),
		bgpSession: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_bgp_session_up",
			Help: "1 when the BGP session to a peer is established, 0 otherwise.",
		}, []string{"peer"}),
		bgpMD5Hint: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_bgp_session_md5_suspected",
			Help: "1 when a peer with a TCP MD5 password has not come up for a while: a password mismatch is the likely cause (the kernel drops such segments silently).",
		}, []string{"peer"}),
	}
	if r != nil {
		r.MustRegister(m.configValid, m.announced, m.refused, m.bgpSession, m.bgpMD5Hint)
	}
	return m
}

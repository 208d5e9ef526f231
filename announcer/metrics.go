package announcer

import "github.com/prometheus/client_golang/prometheus"

// metrics are the announcer's floatlb_ metrics.
type metrics struct {
	configValid            *prometheus.GaugeVec
	announced              *prometheus.GaugeVec
	refused                *prometheus.CounterVec
	bgpSession             *prometheus.GaugeVec
	bgpMD5Hint             *prometheus.GaugeVec
	bgpPasswordUnavailable *prometheus.GaugeVec

	l2Owned         *prometheus.GaugeVec
	l2OwnerChanges  *prometheus.CounterVec
	l2Replies       *prometheus.CounterVec
	l2Conflicts     *prometheus.CounterVec
	l2LeaseFailures *prometheus.CounterVec
	l2Failover      *prometheus.HistogramVec

	vrrpInstances   *prometheus.GaugeVec
	vrrpMasters     *prometheus.GaugeVec
	vrrpTransitions *prometheus.CounterVec
	vrrpDropped     *prometheus.CounterVec
	vrrpForeign     *prometheus.CounterVec
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
			Help: "Addresses in a Service's status that the announcer refused to announce, by reason (outside-pools, unknown-mode).",
		}, []string{"reason"}),
		bgpSession: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_bgp_session_up",
			Help: "1 when the BGP session to a peer is established, 0 otherwise.",
		}, []string{"peer"}),
		bgpMD5Hint: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_bgp_session_md5_suspected",
			Help: "1 when a peer with a TCP MD5 password has not come up for a while: a password mismatch is the likely cause (the kernel drops such segments silently).",
		}, []string{"peer"}),
		bgpPasswordUnavailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_bgp_password_unavailable",
			Help: "1 while the TCP MD5 password of a peer cannot be read from its Secret (secret, key), by reason: missing (the Secret or key does not exist) or unreadable (the API server does not answer or refuses). The session keeps the password read last; a peer whose password was never read has no session.",
		}, []string{"peer", "secret", "key", "reason"}),
		l2Owned: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_l2_owned_addresses",
			Help: "Layer 2 addresses this node owns (answers ARP/NDP for), by interface.",
		}, []string{"interface"}),
		l2OwnerChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_l2_owner_changes_total",
			Help: "Layer 2 addresses this node took over, by why the previous owner lost them (first-owner, lease-expired, lease-released, no-lease, no-longer-eligible, rebalanced).",
		}, []string{"reason"}),
		l2Replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_l2_replies_total",
			Help: "ARP replies (family ipv4) and neighbor advertisements (ipv6) this node sent for owned addresses, gratuitous ones included.",
		}, []string{"family"}),
		l2Conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_l2_conflicts_total",
			Help: "Probes of an owned Layer 2 address that another hardware address answered too (split brain), by interface.",
		}, []string{"interface"}),
		l2LeaseFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_l2_lease_renewal_failures_total",
			Help: "Failed renewals of this announcer's Lease; while they fail, Layer 2 ownership stays frozen.",
		}, nil),
		l2Failover: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "floatlb_l2_failover_seconds",
			Help:    "Layer 2 takeovers by this node: seconds from the previous owner's last sign of life (its last Lease renewal seen, or its release) to this node answering, by reason (lease-expired, lease-released).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 20, 30},
		}, []string{"reason"}),
		vrrpInstances: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_vrrp_instances",
			Help: "VRRP instances this node runs.",
		}, nil),
		vrrpMasters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "floatlb_vrrp_master_instances",
			Help: "VRRP instances this node is master of.",
		}, nil),
		vrrpTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_vrrp_transitions_total",
			Help: "VRRP state changes of this node's instances, by instance, its VRID, the new state and the reason. The series of an instance go when this node stops running it.",
		}, []string{"vrrp_instance", "vrid", "state", "reason"}),
		vrrpDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_vrrp_dropped_packets_total",
			Help: "Received VRRP packets dropped, by reason (bad-ttl, bad-checksum, bad-version, bad-type, malformed, wrong-family, unknown-vrid).",
		}, []string{"reason"}),
		vrrpForeign: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floatlb_vrrp_foreign_routers_total",
			Help: "Foreign VRRP routers reported: a source that advertised one of this node's VRIDs with other addresses for 3 s or more (another VRRP router on the LAN uses the VRID).",
		}, nil),
	}
	// Counters without labels exist from the start, so that their first
	// increase shows (increase() needs a sample before it).
	m.vrrpForeign.WithLabelValues()
	m.l2LeaseFailures.WithLabelValues()
	if r != nil {
		r.MustRegister(m.configValid, m.announced, m.refused, m.bgpSession, m.bgpMD5Hint, m.bgpPasswordUnavailable,
			m.l2Owned, m.l2OwnerChanges, m.l2Replies, m.l2Conflicts, m.l2LeaseFailures, m.l2Failover,
			m.vrrpInstances, m.vrrpMasters, m.vrrpTransitions, m.vrrpDropped, m.vrrpForeign)
	}
	return m
}

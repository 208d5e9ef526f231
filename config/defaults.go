package config

import "time"

// setDefaults fills in what the document left out. A zero value means "not
// set": a holdTime of 0s, for one, becomes 90s (GoBGP cannot turn the hold
// timer off anyway). Empty lists and maps become nil, so that a config reads
// the same whether the document wrote "namespaces: []" or nothing.
func setDefaults(c *Config) {
	c.Pools = nilIfEmpty(c.Pools)
	for i := range c.Pools {
		defaultPool(&c.Pools[i])
	}
	if c.BGP.ListenPort == nil {
		c.BGP.ListenPort = new(DefaultListenPort)
	}
	c.BGP.Peers = nilIfEmpty(c.BGP.Peers)
	for i := range c.BGP.Peers {
		defaultPeer(&c.BGP.Peers[i])
	}
	if c.L2.LeaseDuration.Duration == 0 {
		c.L2.LeaseDuration.Duration = DefaultLeaseDuration
	}
	if c.VRRP.AdvertInterval.Duration == 0 {
		c.VRRP.AdvertInterval.Duration = DefaultAdvertInterval
	}
	if len(c.VRRP.ReservedVRIDs) == 0 {
		c.VRRP.ReservedVRIDs = []int{DefaultReservedVRID}
	}
}

func defaultPool(p *Pool) {
	if p.Mode == "" {
		p.Mode = DefaultMode
	}
	if p.AutoAssign == nil {
		p.AutoAssign = new(true)
	}
	p.Namespaces = nilIfEmpty(p.Namespaces)
	if len(p.NodeSelector) == 0 {
		p.NodeSelector = nil
	}
	p.BGP.Peers = nilIfEmpty(p.BGP.Peers)
	p.BGP.Communities = nilIfEmpty(p.BGP.Communities)
	p.BGP.LargeCommunities = nilIfEmpty(p.BGP.LargeCommunities)
}

func defaultPeer(p *Peer) {
	if p.Port == 0 {
		p.Port = DefaultPeerPort
	}
	if p.HoldTime.Duration == 0 {
		p.HoldTime.Duration = DefaultHoldTime
	}
	if p.KeepaliveTime.Duration == 0 {
		p.KeepaliveTime.Duration = DefaultKeepaliveTime(p.HoldTime.Duration)
	}
	if len(p.NodeSelector) == 0 {
		p.NodeSelector = nil
	}
}

// DefaultKeepaliveTime is a peer's keepaliveTime when the config gives none:
// a third of holdTime, in whole seconds as BGP counts them, at least 1s.
func DefaultKeepaliveTime(holdTime time.Duration) time.Duration {
	return max((holdTime / 3).Truncate(time.Second), time.Second)
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

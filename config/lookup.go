package config

import "net/netip"

// AutoAssignEnabled reports whether Services that ask for no pool in
// particular may get their IPs from p (autoAssign, true when unset).
func (p *Pool) AutoAssignEnabled() bool {
	return p.AutoAssign == nil || *p.AutoAssign
}

// Pool returns the pool called name.
func (c *Config) Pool(name string) (*Pool, bool) {
	for i := range c.Pools {
		if c.Pools[i].Name == name {
			return &c.Pools[i], true
		}
	}
	return nil, false
}

// PoolFor returns the pool whose addresses contain a. Pools do not overlap,
// so there is at most one. It needs the Ranges that Parse fills in.
func (c *Config) PoolFor(a netip.Addr) (*Pool, bool) {
	for i := range c.Pools {
		for _, r := range c.Pools[i].Ranges {
			if r.Contains(a) {
				return &c.Pools[i], true
			}
		}
	}
	return nil, false
}

// ListenPort returns the port the BGP speaker listens on, or -1 if it must
// only dial out (bgp.listenPort, -1 when unset).
func (c *Config) ListenPort() int {
	if c.BGP.ListenPort == nil {
		return DefaultListenPort
	}
	return *c.BGP.ListenPort
}

// Peer returns the peer of bgp.peers called name.
func (c *Config) Peer(name string) (*Peer, bool) {
	for i := range c.BGP.Peers {
		if c.BGP.Peers[i].Name == name {
			return &c.BGP.Peers[i], true
		}
	}
	return nil, false
}

// PoolPeers returns the peers that p's routes go to: those its bgp.peers
// names, or every peer of bgp.peers if it names none.
func (c *Config) PoolPeers(p *Pool) []*Peer {
	var peers []*Peer
	if len(p.BGP.Peers) == 0 {
		for i := range c.BGP.Peers {
			peers = append(peers, &c.BGP.Peers[i])
		}
		return peers
	}
	for _, name := range p.BGP.Peers {
		if peer, ok := c.Peer(name); ok {
			peers = append(peers, peer)
		}
	}
	return peers
}

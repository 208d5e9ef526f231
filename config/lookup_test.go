package config

import (
	"net/netip"
	"testing"
)

func TestLookups(t *testing.T) {
	c := mustParse(t, doc(`
pools:
- name: public
  addresses: [192.0.2.0/28, "2001:db8:1::/120"]
- name: private
  addresses: [198.51.100.10-198.51.100.20]
  autoAssign: false
  bgp: {peers: [tor-b]}
bgp:
  asn: 64512
  listenPort: 1179
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500}
  - {name: tor-b, address: 192.0.2.253, asn: 64500}
`))

	t.Run("Pool", func(t *testing.T) {
		for _, name := range []string{"public", "private"} {
			p, ok := c.Pool(name)
			if !ok || p.Name != name || p != &c.Pools[map[string]int{"public": 0, "private": 1}[name]] {
				t.Errorf("Pool(%q) = %v, %v", name, p, ok)
			}
		}
		if p, ok := c.Pool("other"); ok || p != nil {
			t.Errorf("Pool(%q) = %v, %v; want nil, false", "other", p, ok)
		}
	})

	t.Run("PoolFor", func(t *testing.T) {
		tests := map[string]string{
			"192.0.2.0":       "public",
			"192.0.2.15":      "public",
			"2001:db8:1::80":  "public",
			"198.51.100.10":   "private",
			"198.51.100.20":   "private",
			"192.0.2.16":      "",
			"198.51.100.21":   "",
			"2001:db8:1::100": "",
		}
		for a, want := range tests {
			p, ok := c.PoolFor(netip.MustParseAddr(a))
			got := ""
			if ok {
				got = p.Name
			}
			if got != want {
				t.Errorf("PoolFor(%s) = %q, want %q", a, got, want)
			}
		}
	})

	t.Run("AutoAssignEnabled", func(t *testing.T) {
		if !c.Pools[0].AutoAssignEnabled() || c.Pools[1].AutoAssignEnabled() {
			t.Errorf("AutoAssignEnabled = %v, %v; want true, false", c.Pools[0].AutoAssignEnabled(), c.Pools[1].AutoAssignEnabled())
		}
		if !(&Pool{}).AutoAssignEnabled() {
			t.Errorf("AutoAssignEnabled of a pool without autoAssign = false, want true")
		}
	})

	t.Run("ListenPort", func(t *testing.T) {
		if got := c.ListenPort(); got != 1179 {
			t.Errorf("ListenPort = %d, want 1179", got)
		}
		if got := (&Config{}).ListenPort(); got != -1 {
			t.Errorf("ListenPort of an empty config = %d, want -1", got)
		}
	})

	t.Run("Peer and PoolPeers", func(t *testing.T) {
		if p, ok := c.Peer("tor-b"); !ok || p != &c.BGP.Peers[1] {
			t.Errorf("Peer(%q) = %v, %v", "tor-b", p, ok)
		}
		if _, ok := c.Peer("tor-c"); ok {
			t.Errorf("Peer(%q) found a peer", "tor-c")
		}
		if got := c.PoolPeers(&c.Pools[0]); len(got) != 2 || got[0] != &c.BGP.Peers[0] || got[1] != &c.BGP.Peers[1] {
			t.Errorf("PoolPeers(public) = %v, want both peers", got)
		}
		if got := c.PoolPeers(&c.Pools[1]); len(got) != 1 || got[0] != &c.BGP.Peers[1] {
			t.Errorf("PoolPeers(private) = %v, want tor-b", got)
		}
	})
}

package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaults(t *testing.T) {
	const pool = "pools:\n- name: p\n  addresses: [192.0.2.0/28]\n"
	const peer = "bgp:\n  asn: 64512\n  peers: [{name: a, address: 192.0.2.254, asn: 64500}]\n"
	tests := []struct {
		name string
		body string
		get  func(*Config) any
		want any
	}{
		{
			name: "pool mode is bgp",
			body: pool,
			get:  func(c *Config) any { return c.Pools[0].Mode },
			want: ModeBGP,
		},
		{
			name: "pool autoAssign is true",
			body: pool,
			get:  func(c *Config) any { return []bool{*c.Pools[0].AutoAssign, c.Pools[0].AutoAssignEnabled()} },
			want: []bool{true, true},
		},
		{
			name: "pool avoidBuggyIPs is false",
			body: pool,
			get:  func(c *Config) any { return c.Pools[0].AvoidBuggyIPs },
			want: false,
		},
		{
			name: "pool namespaces are empty: all",
			body: pool + "  namespaces: []\n",
			get:  func(c *Config) any { return c.Pools[0].Namespaces },
			want: []string(nil),
		},
		{
			name: "pool nodeSelector is empty: all",
			body: pool + "  nodeSelector: {}\n",
			get:  func(c *Config) any { return c.Pools[0].NodeSelector },
			want: map[string]string(nil),
		},
		{
			name: "pool interface is empty: the node's InternalIP's",
			body: pool,
			get:  func(c *Config) any { return c.Pools[0].Interface },
			want: "",
		},
		{
			name: "pool bgp.peers is empty: every peer",
			body: pool + "  bgp: {peers: []}\n" + peer,
			get: func(c *Config) any {
				var names []string
				for _, p := range c.PoolPeers(&c.Pools[0]) {
					names = append(names, p.Name)
				}
				return []any{c.Pools[0].BGP.Peers, names}
			},
			want: []any{[]string(nil), []string{"a"}},
		},
		{
			name: "pool aggregationLength is 0: host routes",
			body: pool,
			get:  func(c *Config) any { return c.Pools[0].BGP.AggregationLength },
			want: 0,
		},
		{
			name: "peer port is 179",
			body: peer,
			get:  func(c *Config) any { return c.BGP.Peers[0].Port },
			want: 179,
		},
		{
			name: "peer holdTime is 90s",
			body: peer,
			get:  func(c *Config) any { return c.BGP.Peers[0].HoldTime.Duration },
			want: 90 * time.Second,
		},
		{
			name: "peer holdTime 0s is 90s",
			body: "bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 2, holdTime: 0s}]\n",
			get:  func(c *Config) any { return c.BGP.Peers[0].HoldTime.Duration },
			want: 90 * time.Second,
		},
		{
			name: "peer keepaliveTime is a third of the default holdTime",
			body: peer,
			get:  func(c *Config) any { return c.BGP.Peers[0].KeepaliveTime.Duration },
			want: 30 * time.Second,
		},
		{
			name: "peer keepaliveTime is a third of holdTime",
			body: "bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 2, holdTime: 9s}]\n",
			get:  func(c *Config) any { return c.BGP.Peers[0].KeepaliveTime.Duration },
			want: 3 * time.Second,
		},
		{
			name: "peer keepaliveTime is in whole seconds",
			body: "bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 2, holdTime: 10s}]\n",
			get:  func(c *Config) any { return c.BGP.Peers[0].KeepaliveTime.Duration },
			want: 3 * time.Second,
		},
		{
			name: "peer keepaliveTime is at least 1s",
			body: "bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 2, holdTime: 4s}]\n",
			get:  func(c *Config) any { return c.BGP.Peers[0].KeepaliveTime.Duration },
			want: time.Second,
		},
		{
			name: "peer ebgpMultihop is 0: off",
			body: peer,
			get:  func(c *Config) any { return c.BGP.Peers[0].EBGPMultihop },
			want: 0,
		},
		{
			name: "peer nodeSelector is empty: all",
			body: "bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 2, nodeSelector: {}}]\n",
			get:  func(c *Config) any { return c.BGP.Peers[0].NodeSelector },
			want: map[string]string(nil),
		},
		{
			name: "l2.leaseDuration is 4s",
			get:  func(c *Config) any { return c.L2.LeaseDuration.Duration },
			want: 4 * time.Second,
		},
		{
			name: "vrrp.advertInterval is 1s",
			get:  func(c *Config) any { return c.VRRP.AdvertInterval.Duration },
			want: time.Second,
		},
		{
			name: "vrrp.reservedVRIDs is the control-plane VIP's default VRID",
			get:  func(c *Config) any { return c.VRRP.ReservedVRIDs },
			want: []int{255},
		},
		{
			name: "bgp.listenPort is -1: never listen",
			get:  func(c *Config) any { return []int{*c.BGP.ListenPort, c.ListenPort()} },
			want: []int{-1, -1},
		},
		{
			name: "bgp.asn is not needed without peers",
			body: pool,
			get:  func(c *Config) any { return c.BGP.ASN },
			want: uint32(0),
		},
		{
			name: "no pools is valid",
			body: "pools: []\n",
			get:  func(c *Config) any { return c.Pools },
			want: []Pool(nil),
		},
		{
			name: "a bgp pool without peers is valid",
			body: pool + "  bgp: {communities: [no-export]}\n",
			get:  func(c *Config) any { return len(c.PoolPeers(&c.Pools[0])) },
			want: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, doc(tc.body))
			if diff := cmp.Diff(tc.want, tc.get(c)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultKeepaliveTime(t *testing.T) {
	tests := []struct {
		hold, want time.Duration
	}{
		{90 * time.Second, 30 * time.Second},
		{3 * time.Second, time.Second},
		{5 * time.Second, time.Second},
		{20 * time.Second, 6 * time.Second},
		{0, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.hold.String(), func(t *testing.T) {
			if got := DefaultKeepaliveTime(tc.hold); got != tc.want {
				t.Errorf("DefaultKeepaliveTime(%v) = %v, want %v", tc.hold, got, tc.want)
			}
		})
	}
}

package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustRange(t testing.TB, first, last string) Range {
	t.Helper()
	return Range{First: netip.MustParseAddr(first), Last: netip.MustParseAddr(last)}
}

func prefixRange(s string) Range {
	p := netip.MustParsePrefix(s)
	first := p.Masked().Addr()
	last := first
	bits := p.Addr().BitLen() - p.Bits()
	b := last.AsSlice()
	for i := len(b) - 1; bits > 0; i-- {
		n := min(bits, 8)
		b[i] |= byte(1<<n - 1)
		bits -= n
	}
	last, _ = netip.AddrFromSlice(b)
	return Range{First: first, Last: last}
}

func ips(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func v4(svc string) Request {
	ns, _, _ := strings.Cut(svc, "/")
	return Request{Service: svc, Namespace: ns, Families: []Family{IPv4}, RequireAll: true}
}

type step struct {
	req     Request
	release string
	restore bool
	want    []netip.Addr
	wantErr string
}

func TestAllocate(t *testing.T) {
	public := Pool{Name: "public", AutoAssign: true, Ranges: []Range{prefixRange("192.0.2.0/30")}}
	dual := Pool{Name: "dual", AutoAssign: true, Ranges: []Range{prefixRange("198.51.100.0/31"), prefixRange("2001:db8:1::/127")}}
	manual := Pool{Name: "manual", Ranges: []Range{prefixRange("203.0.113.0/30")}}
	tenant := Pool{Name: "tenant", AutoAssign: true, Namespaces: []string{"team-a"}, Ranges: []Range{prefixRange("198.18.0.0/30")}}
	buggy := Pool{Name: "buggy", AutoAssign: true, AvoidBuggyIPs: true, Ranges: []Range{mustRange(t, "198.51.100.254", "198.51.101.1")}}

	withPool := func(r Request, pool string) Request { r.Pool = pool; return r }
	withIPs := func(r Request, s ...string) Request { r.IPs = ips(s...); return r }
	withCurrent := func(r Request, s ...string) Request { r.Current = ips(s...); return r }
	shared := func(r Request, key string, ports ...int32) Request {
		r.Sharing = key
		for _, p := range ports {
			r.Ports = append(r.Ports, Port{Protocol: "TCP", Port: p})
		}
		return r
	}
	families := func(r Request, requireAll bool, fs ...Family) Request {
		r.Families, r.RequireAll = fs, requireAll
		return r
	}
	local := func(r Request, selector string) Request { r.Local, r.Selector = true, selector; return r }

	tests := []struct {
		name  string
		pools []Pool
		steps []step
	}{{
		name:  "never-used addresses first, in order, idempotent",
		pools: []Pool{public},
		steps: []step{
			{req: v4("default/a"), want: ips("192.0.2.0")},
			{req: v4("default/b"), want: ips("192.0.2.1")},
			{req: v4("default/a"), want: ips("192.0.2.0")},
		},
	}, {
		name:  "exhausted pool names its use, released addresses are reused oldest first",
		pools: []Pool{public},
		steps: []step{
			{req: v4("default/a"), want: ips("192.0.2.0")},
			{req: v4("default/b"), want: ips("192.0.2.1")},
			{req: v4("default/c"), want: ips("192.0.2.2")},
			{req: v4("default/d"), want: ips("192.0.2.3")},
			{req: v4("default/e"), wantErr: `pool "public" is exhausted: 4 of 4 addresses in use`},
			{release: "default/c"},
			{release: "default/a"},
			{req: v4("default/e"), want: ips("192.0.2.2")},
			{req: v4("default/f"), want: ips("192.0.2.0")},
		},
	}, {
		name:  "pool annotation picks a pool that does not auto-assign",
		pools: []Pool{public, manual},
		steps: []step{
			{req: withPool(v4("default/a"), "manual"), want: ips("203.0.113.0")},
			{req: withPool(v4("default/b"), "nope"), wantErr: `pool "nope" does not exist`},
		},
	}, {
		name:  "a specific address, and the same address refused to another",
		pools: []Pool{public, manual},
		steps: []step{
			{req: withIPs(v4("default/a"), "203.0.113.2"), want: ips("203.0.113.2")},
			{req: withIPs(v4("default/b"), "203.0.113.2"), wantErr: "203.0.113.2 is held by default/a"},
			{req: withIPs(v4("default/c"), "198.51.100.9"), wantErr: "198.51.100.9 is in no pool"},
		},
	}, {
		name:  "changing the wanted address moves the Service, failing keeps the old",
		pools: []Pool{public},
		steps: []step{
			{req: v4("default/a"), want: ips("192.0.2.0")},
			{req: v4("default/b"), want: ips("192.0.2.1")},
			{req: withIPs(v4("default/a"), "192.0.2.1"), wantErr: "192.0.2.1 is held by default/b"},
			{req: v4("default/a"), want: ips("192.0.2.0")},
			{req: withIPs(v4("default/a"), "192.0.2.3"), want: ips("192.0.2.3")},
			{req: v4("default/c"), want: ips("192.0.2.2")},
			{req: v4("default/d"), want: ips("192.0.2.0")},
		},
	}, {
		name:  "namespaces restrict a pool",
		pools: []Pool{tenant},
		steps: []step{
			{req: v4("team-b/a"), wantErr: `no pool assigns IPv4 addresses automatically to namespace "team-b"`},
			{req: v4("team-a/a"), want: ips("198.18.0.0")},
		},
	}, {
		name:  "avoidBuggyIPs skips .0 and .255",
		pools: []Pool{buggy},
		steps: []step{
			{req: v4("default/a"), want: ips("198.51.100.254")},
			{req: v4("default/b"), want: ips("198.51.101.1")},
			{req: v4("default/c"), wantErr: `pool "buggy" is exhausted: 2 of 2 addresses in use`},
			{req: withIPs(v4("default/d"), "198.51.101.0"), wantErr: "avoids buggy IPs"},
		},
	}, {
		name:  "dual-stack from one pool",
		pools: []Pool{public, dual},
		steps: []step{
			{req: families(v4("default/a"), true, IPv6, IPv4), want: ips("2001:db8:1::", "198.51.100.0")},
			{req: families(v4("default/b"), true, IPv4, IPv6), want: ips("198.51.100.1", "2001:db8:1::1")},
			{req: families(v4("default/c"), true, IPv4, IPv6), wantErr: `pool "dual" is exhausted: 2 of 2 IPv4 addresses in use`},
			{req: families(v4("default/c"), false, IPv4, IPv6), want: ips("192.0.2.0")},
		},
	}, {
		name:  "single to dual stack keeps the address it had",
		pools: []Pool{dual},
		steps: []step{
			{req: v4("default/a"), want: ips("198.51.100.0")},
			{req: families(v4("default/a"), true, IPv4, IPv6), want: ips("198.51.100.0", "2001:db8:1::")},
			{req: families(v4("default/a"), true, IPv6), want: ips("2001:db8:1::")},
			{req: v4("default/b"), want: ips("198.51.100.1")},
			{req: v4("default/c"), want: ips("198.51.100.0")},
		},
	}, {
		name:  "sharing: same key and no port clash share, a clash is refused",
		pools: []Pool{public},
		steps: []step{
			{req: shared(v4("default/dns-tcp"), "dns", 53), want: ips("192.0.2.0")},
			{req: shared(v4("default/dns-udp"), "dns", 54), want: ips("192.0.2.0")},
			{req: shared(withIPs(v4("default/clash"), "192.0.2.0"), "dns", 53), wantErr: "port TCP/53 is already used by default/dns-tcp"},
			{req: shared(v4("default/clash"), "dns", 53), want: ips("192.0.2.1")},
			{req: shared(v4("default/other"), "web", 53), want: ips("192.0.2.2")},
			{release: "default/dns-tcp"},
			{req: v4("default/x"), want: ips("192.0.2.3")},
			{req: v4("default/y"), wantErr: "is exhausted"},
			{release: "default/dns-udp"},
			{req: v4("default/y"), want: ips("192.0.2.0")},
		},
	}, {
		name:  "sharing with Local needs the same selector",
		pools: []Pool{public},
		steps: []step{
			{req: local(shared(v4("default/a"), "k", 80), "app=a"), want: ips("192.0.2.0")},
			{req: local(shared(withIPs(v4("default/b"), "192.0.2.0"), "k", 81), "app=b"), wantErr: "different selector"},
			{req: local(shared(withIPs(v4("default/c"), "192.0.2.0"), "k", 81), "app=a"), want: ips("192.0.2.0")},
			{req: shared(withIPs(v4("default/d"), "192.0.2.0"), "k", 82), wantErr: "externalTrafficPolicy"},
		},
	}, {
		name:  "a status address in a pool is kept",
		pools: []Pool{public, manual},
		steps: []step{
			{req: withCurrent(v4("default/migrated"), "203.0.113.3"), want: ips("203.0.113.3")},
			{req: withCurrent(v4("default/outside"), "10.0.0.1"), want: ips("192.0.2.0")},
		},
	}, {
		name:  "restore claims, the older claim wins",
		pools: []Pool{public},
		steps: []step{
			{req: withCurrent(v4("default/old"), "192.0.2.2"), restore: true, want: ips("192.0.2.2")},
			{req: withCurrent(v4("default/new"), "192.0.2.2"), restore: true, wantErr: "192.0.2.2 is held by default/old"},
			{req: withCurrent(v4("default/new"), "192.0.2.2"), wantErr: "192.0.2.2 in this Service's status is also claimed by default/old"},
			{req: withIPs(withCurrent(v4("default/new"), "192.0.2.2"), "192.0.2.3"), want: ips("192.0.2.3")},
			{release: "default/new"},
			{req: withCurrent(v4("default/foreign"), "10.1.2.3"), restore: true},
			{req: v4("default/a"), want: ips("192.0.2.0")},
			{req: v4("default/b"), want: ips("192.0.2.1")},
			{req: v4("default/c"), want: ips("192.0.2.3")},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := New(tc.pools)
			for i, s := range tc.steps {
				if s.release != "" {
					a.Release(s.release)
					continue
				}
				var got Assignment
				var err error
				if s.restore {
					got, err = a.Restore(s.req)
				} else {
					got, err = a.Allocate(s.req)
				}
				if s.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), s.wantErr) {
						t.Fatalf("step %d (%s): error %v, want one containing %q", i, s.req.Service, err, s.wantErr)
					}
					if !s.restore {
						continue
					}
				} else if err != nil {
					t.Fatalf("step %d (%s): %v", i, s.req.Service, err)
				}
				if diff := cmp.Diff(s.want, got.IPs, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
					t.Fatalf("step %d (%s): IPs (-want +got):\n%s", i, s.req.Service, diff)
				}
				checkInvariants(t, a)
			}
		})
	}
}

func TestErrorsAreTyped(t *testing.T) {
	a := New([]Pool{{Name: "p", AutoAssign: true, Ranges: []Range{prefixRange("192.0.2.0/32")}}})
	if _, err := a.Allocate(v4("default/a")); err != nil {
		t.Fatal(err)
	}
	_, err := a.Allocate(v4("default/b"))
	if !errors.Is(err, ErrExhausted) {
		t.Errorf("Allocate on a full pool = %v, want ErrExhausted", err)
	}
	_, err = a.Allocate(Request{Service: "default/c", Families: []Family{IPv4}, IPs: ips("192.0.2.0")})
	var inUse *InUseError
	if !errors.As(err, &inUse) || inUse.Holder != "default/a" {
		t.Errorf("Allocate of a held address = %v, want *InUseError naming default/a", err)
	}
}

func TestSetPools(t *testing.T) {
	a := New([]Pool{{Name: "p", AutoAssign: true, Ranges: []Range{prefixRange("192.0.2.0/30")}}})
	for _, svc := range []string{"default/a", "default/b"} {
		if _, err := a.Allocate(v4(svc)); err != nil {
			t.Fatal(err)
		}
	}
	err := a.SetPools([]Pool{{Name: "p", AutoAssign: true, Ranges: []Range{mustRange(t, "192.0.2.1", "192.0.2.3")}}})
	var removed *RemovedAddressesError
	if !errors.As(err, &removed) || !strings.Contains(err.Error(), "192.0.2.0 (default/a)") {
		t.Fatalf("SetPools removing a held address = %v, want it refused naming default/a", err)
	}
	if got, _ := a.Assignment("default/a"); got.IPs[0] != netip.MustParseAddr("192.0.2.0") {
		t.Fatalf("after a refused change default/a holds %v", got.IPs)
	}
	// Growing and renaming is fine: holders keep their addresses.
	if err := a.SetPools([]Pool{{Name: "q", AutoAssign: true, Ranges: []Range{prefixRange("192.0.2.0/29")}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Assignment("default/b"); got.Pool != "q" || got.IPs[0] != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("after growing, default/b holds %+v", got)
	}
	got, err := a.Allocate(v4("default/c"))
	if err != nil || got.IPs[0] != netip.MustParseAddr("192.0.2.2") {
		t.Fatalf("Allocate after growing = %v, %v; want 192.0.2.2", got, err)
	}
	checkInvariants(t, a)
}

func TestSizes(t *testing.T) {
	tests := []struct {
		name string
		pool Pool
		want []PoolStats
	}{
		{"v4 /24 avoiding buggy", Pool{Name: "a", AvoidBuggyIPs: true, Ranges: []Range{prefixRange("192.0.2.0/24")}}, []PoolStats{{Pool: "a", Family: IPv4, Size: 254}}},
		{"v4 /15", Pool{Name: "b", Ranges: []Range{prefixRange("198.18.0.0/15")}}, []PoolStats{{Pool: "b", Family: IPv4, Size: 131072}}},
		{"v4 /15 avoiding buggy", Pool{Name: "b", AvoidBuggyIPs: true, Ranges: []Range{prefixRange("198.18.0.0/15")}}, []PoolStats{{Pool: "b", Family: IPv4, Size: 131072 - 1024}}},
		{"v6 /64 saturates", Pool{Name: "c", Ranges: []Range{prefixRange("2001:db8::/64")}}, []PoolStats{{Pool: "c", Family: IPv6, Size: 1<<64 - 1}}},
		{"v6 /120", Pool{Name: "d", Ranges: []Range{prefixRange("2001:db8::/120")}}, []PoolStats{{Pool: "d", Family: IPv6, Size: 256}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, New([]Pool{tc.pool}).Stats()); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// checkInvariants verifies the allocator's internal bookkeeping.
func checkInvariants(t testing.TB, a *Allocator) {
	t.Helper()
	inUse := map[*space]uint64{}
	for _, l := range a.leases {
		ip := l.ip
		if len(l.holders) == 0 {
			t.Fatalf("%s is leased with no holder", ip)
		}
		if !l.pool.contains(ip) {
			t.Fatalf("%s is leased from pool %q, which does not contain it", ip, l.pool.Name)
		}
		if s := l.pool.space(FamilyOf(ip)); s.allocatable(ip) {
			inUse[s]++
		}
		for i, h := range l.holders {
			if a.holdings[h.req.Service] != h {
				t.Fatalf("%s is held by a stale holding of %s", ip, h.req.Service)
			}
			for _, o := range l.holders[i+1:] {
				hr := Request{Service: h.req.Service, Sharing: h.req.Sharing, Ports: h.req.Ports, Local: h.req.Local, Selector: h.req.Selector}
				if err := hr.shareWith(o.req); err != nil {
					t.Fatalf("%s is held by %s and %s, which may not share: %v", ip, h.req.Service, o.req.Service, err)
				}
			}
		}
	}
	for svc, h := range a.holdings {
		for _, ip := range h.ips {
			l := a.leases[keyOf(ip)]
			if l == nil {
				t.Fatalf("%s holds %s, which has no lease", svc, ip)
			}
		}
	}
	for _, p := range a.pools {
		for _, s := range []*space{p.v4, p.v6} {
			if s.inUse != inUse[s] {
				t.Fatalf("pool %q counts %d in use, leases say %d", p.Name, s.inUse, inUse[s])
			}
		}
	}
}

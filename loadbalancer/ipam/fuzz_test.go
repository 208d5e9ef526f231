package ipam

import (
	"fmt"
	"net/netip"
	"testing"
)

// FuzzAllocator drives the allocator with a random sequence of requests,
// restores and releases decoded from the input, and checks its invariants
// after each: no address held by two Services that may not share it, every
// address inside its pool, use counts that match the leases.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 0, 1, 1, 0})
	f.Add([]byte{0, 1, 7, 3, 1, 9, 0, 2, 200, 2, 2, 0, 0, 3, 255})
	f.Add([]byte{1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6})
	f.Fuzz(exerciseAllocator)
}

func exerciseAllocator(t *testing.T, data []byte) {
	pools := []Pool{
		{Name: "a", AutoAssign: true, Ranges: []Range{prefixRange("192.0.2.0/29"), prefixRange("2001:db8::/125")}},
		{Name: "b", AutoAssign: true, AvoidBuggyIPs: true, Ranges: []Range{mustRange(t, "198.51.100.254", "198.51.101.2")}},
		{Name: "c", Namespaces: []string{"ns1"}, Ranges: []Range{prefixRange("203.0.113.0/30")}},
	}
	addrs := []netip.Addr{}
	for _, s := range []string{"192.0.2.1", "192.0.2.7", "198.51.101.0", "198.51.100.255", "203.0.113.2", "2001:db8::3", "10.0.0.1"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}

	a := New(pools)
	for len(data) >= 3 {
		op, svc, arg := data[0], data[1]%8, data[2]
		data = data[3:]
		key := fmt.Sprintf("ns%d/s%d", svc%2, svc)
		req := Request{Service: key, Namespace: fmt.Sprintf("ns%d", svc%2), Families: []Family{IPv4}, RequireAll: true}
		if arg&1 != 0 {
			req.Families = []Family{IPv6, IPv4}
			req.RequireAll = arg&2 != 0
		}
		if arg&4 != 0 {
			req.Sharing = "k"
			req.Ports = []Port{{Protocol: "TCP", Port: int32(arg >> 6)}}
		}
		if arg&8 != 0 {
			req.Pool = string(rune('a' + arg>>4%4))
		}
		switch op % 4 {
		case 0:
			got, err := a.Allocate(req)
			if err == nil {
				for _, ip := range got.IPs {
					if p := a.poolOf(ip); p == nil || p.Name != got.Pool {
						t.Fatalf("%s got %s, outside its pool %q", key, ip, got.Pool)
					}
				}
			}
		case 1:
			req.IPs = []netip.Addr{addrs[int(arg>>4)%len(addrs)]}
			if !req.wants(FamilyOf(req.IPs[0])) {
				req.Families = append(req.Families, FamilyOf(req.IPs[0]))
			}
			_, _ = a.Allocate(req)
		case 2:
			req.Current = []netip.Addr{addrs[int(arg>>4)%len(addrs)]}
			_, _ = a.Restore(req)
		case 3:
			a.Release(key)
		}
		checkInvariants(t, a)
	}
}

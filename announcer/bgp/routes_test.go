package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	api "github.com/osrg/gobgp/v3/api"
	"k8s.io/klog/v2/ktesting"
)

// TestSetRoutesDiff checks that SetRoutes leaves the speaker's RIB holding
// exactly the routes asked for, with their attributes, through additions,
// changes and removals, and that asking again for the same routes
// allocates nothing.
func TestSetRoutesDiff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sp, err := New(ctx, ktesting.NewLogger(t, ktesting.NewConfig()), Options{ASN: 64512, RouterID: netip.MustParseAddr("192.0.2.11"), ListenPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close(context.Background())

	a := Route{Prefix: netip.MustParsePrefix("198.51.100.1/32"), NextHop: netip.MustParseAddr("192.0.2.11")}
	b := Route{Prefix: netip.MustParsePrefix("198.51.100.2/32"), NextHop: netip.MustParseAddr("192.0.2.11")}
	c := Route{Prefix: netip.MustParsePrefix("2001:db8:100::3/128"), NextHop: netip.MustParseAddr("2001:db8:2::11")}
	bCommunity := b
	bCommunity.Communities = []string{"64512:7"}
	aNextHop := a
	aNextHop.NextHop = netip.MustParseAddr("192.0.2.12")

	for _, tc := range []struct {
		name   string
		routes []Route
		want   map[string]string // prefix → next hop and communities in the RIB
	}{
		{"first", []Route{a, b}, map[string]string{"198.51.100.1/32": "192.0.2.11", "198.51.100.2/32": "192.0.2.11"}},
		{"same again", []Route{b, a}, map[string]string{"198.51.100.1/32": "192.0.2.11", "198.51.100.2/32": "192.0.2.11"}},
		{"add IPv6, change communities", []Route{a, bCommunity, c}, map[string]string{"198.51.100.1/32": "192.0.2.11", "198.51.100.2/32": "192.0.2.11 [4227858439]", "2001:db8:100::3/128": "2001:db8:2::11"}},
		{"change next hop, remove one", []Route{aNextHop, c}, map[string]string{"198.51.100.1/32": "192.0.2.12", "2001:db8:100::3/128": "2001:db8:2::11"}},
		{"a prefix twice: the last wins", []Route{a, aNextHop}, map[string]string{"198.51.100.1/32": "192.0.2.12"}},
		{"none", nil, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := sp.SetRoutes(ctx, tc.routes); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rib(t, sp)); diff != "" {
				t.Errorf("RIB (-want +got):\n%s", diff)
			}
			if len(sp.Routes()) != len(tc.want) {
				t.Errorf("Routes() = %v, want %d prefixes", sp.Routes(), len(tc.want))
			}
		})
	}

	many := make([]Route, 5000)
	for i := range many {
		many[i] = Route{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32), NextHop: a.NextHop}
	}
	if err := sp.SetRoutes(ctx, many); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(10, func() { _ = sp.SetRoutes(ctx, many) }); allocs != 0 {
		t.Errorf("SetRoutes of 5,000 unchanged routes allocates %v times, want 0", allocs)
	}
}

// rib reads the speaker's global RIB: prefix → next hop, then the
// communities when there are any.
func rib(t *testing.T, sp *Speaker) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		err := sp.s.ListPath(context.Background(), &api.ListPathRequest{
			TableType: api.TableType_GLOBAL,
			Family:    &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST},
		}, func(d *api.Destination) {
			for _, p := range d.Paths {
				var nh, comm string
				for _, a := range p.Pattrs {
					m, err := a.UnmarshalNew()
					if err != nil {
						t.Fatal(err)
					}
					switch v := m.(type) {
					case *api.NextHopAttribute:
						nh = v.NextHop
					case *api.MpReachNLRIAttribute:
						nh = v.NextHops[0]
					case *api.CommunitiesAttribute:
						comm = fmt.Sprint(" ", v.Communities)
					}
				}
				got[d.Prefix] = nh + comm
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

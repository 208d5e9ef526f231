package bgp

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"k8s.io/klog/v2/ktesting"
)

// TestSpeakersOverLoopback runs two real speakers on loopback: the announcer
// side dials out (it never listens) and advertises, withdraws on SetRoutes,
// and withdraws everything on Close.
func TestSpeakersOverLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := ktesting.NewLogger(t, ktesting.NewConfig())
	port := freePort(t)

	router, err := New(ctx, log.WithName("router"), Options{ASN: 64500, RouterID: netip.MustParseAddr("127.0.0.1"), ListenPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close(context.Background())
	// The router accepts the node: a passive peer on the node's source address.
	if err := router.s.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.2", PeerAsn: 64512},
		Transport: &api.Transport{PassiveMode: true},
		AfiSafis:  peerOf(Peer{}).AfiSafis,
	}}); err != nil {
		t.Fatal(err)
	}

	states := make(chan State, 16)
	node, err := New(ctx, log.WithName("node"), Options{ASN: 64512, RouterID: netip.MustParseAddr("127.0.0.2"), ListenPort: -1,
		OnState: func(_ Peer, s State) { states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	peer := Peer{Name: "router", Address: netip.MustParseAddr("127.0.0.1"), ASN: 64500, Port: uint16(port), HoldTime: 9 * time.Second}
	if err := node.SetPeers(ctx, []Peer{peer}); err != nil {
		t.Fatal(err)
	}
	// GoBGP binds the source address from the peer's transport: use 127.0.0.2.
	if _, err := node.s.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: withLocal(peerOf(peer), "127.0.0.2")}); err != nil {
		t.Fatal(err)
	}
	waitState(t, states, StateEstablished)

	routes := []Route{
		{Prefix: netip.MustParsePrefix("198.51.100.7/32"), NextHop: netip.MustParseAddr("192.0.2.11")},
		{Prefix: netip.MustParsePrefix("2001:db8:100::7/128"), NextHop: netip.MustParseAddr("2001:db8:2::11")},
	}
	if err := node.SetRoutes(ctx, routes); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 2)

	// A pool whose routes go only to another peer: the router loses its route.
	only := []PoolFilter{{Pool: "elsewhere", Prefixes: RangePrefixes(netip.MustParseAddr("198.51.100.0"), netip.MustParseAddr("198.51.100.255")), Peers: []string{"other"}}}
	if err := node.SetPoolFilters(ctx, only); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 1)
	only[0].Peers = []string{"other", "router"}
	if err := node.SetPoolFilters(ctx, only); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 2)
	only[0].Peers = []string{"other"}
	if err := node.SetPoolFilters(ctx, only); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 1)
	if err := node.SetPoolFilters(ctx, nil); err != nil { // no pool names its peers any more
		t.Fatal(err)
	}
	waitRoutes(t, router, 2)

	if err := node.SetRoutes(ctx, routes[1:]); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 1)
	if err := node.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, router, 0)
}

func withLocal(p *api.Peer, local string) *api.Peer {
	p.Transport.LocalAddress = local
	return p
}

func waitState(t *testing.T, states chan State, want State) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s := <-states:
			if s == want {
				return
			}
		case <-timeout:
			t.Fatalf("session did not reach %s", want)
		}
	}
}

// waitRoutes waits until the router's RIB holds n prefixes over both families.
func waitRoutes(t *testing.T, router *Speaker, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := 0
		for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
			_ = router.s.ListPath(context.Background(), &api.ListPathRequest{
				TableType: api.TableType_GLOBAL,
				Family:    &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST},
			}, func(*api.Destination) { got++ })
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("router holds %d prefixes, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

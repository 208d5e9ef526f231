package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// Speaker is this node's BGP speaker: an embedded GoBGP server with the
// node's peers and the routes it advertises.
type Speaker struct {
	log logr.Logger
	s   *server.BgpServer

	mu      sync.Mutex
	peers   map[string]Peer             // by name
	routes  map[netip.Prefix]advertised // by prefix
	round   uint64                      // of SetRoutes, counted
	states  map[string]State            // by peer address
	filters filterState
	onState func(peer Peer, state State)
}

// advertised is a route the speaker advertises, with the last round of
// SetRoutes that asked for it.
type advertised struct {
	Route
	round uint64
}

// Options configure a Speaker.
type Options struct {
	ASN      uint32
	RouterID netip.Addr // an IPv4 address, usually the node's
	// ListenPort -1 dials out only; otherwise the port to accept sessions on.
	ListenPort int
	// OnState, when set, is called on every change of a peer's session state.
	OnState func(peer Peer, state State)
}

// New starts a speaker.
func New(ctx context.Context, log logr.Logger, opts Options) (*Speaker, error) {
	if !opts.RouterID.Is4() {
		return nil, fmt.Errorf("BGP router ID %s is not an IPv4 address", opts.RouterID)
	}
	s := server.NewBgpServer(server.LoggerOption(&logger{l: log.WithName("gobgp")}))
	go s.Serve()
	port := int32(opts.ListenPort)
	if port == 0 {
		port = -1
	}
	global := &api.Global{Asn: opts.ASN, RouterId: opts.RouterID.String(), ListenPort: port}
	if port > 0 {
		global.ListenAddresses = []string{"0.0.0.0", "::"}
	}
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: global}); err != nil {
		s.Stop()
		return nil, fmt.Errorf("starting BGP as AS %d, router ID %s: %w", opts.ASN, opts.RouterID, err)
	}
	sp := &Speaker{
		log:     log,
		s:       s,
		peers:   map[string]Peer{},
		routes:  map[netip.Prefix]advertised{},
		states:  map[string]State{},
		onState: opts.OnState,
	}
	if err := s.WatchEvent(ctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, sp.peerEvent); err != nil {
		s.Stop()
		return nil, fmt.Errorf("watching BGP peers: %w", err)
	}
	return sp, nil
}

func (sp *Speaker) peerEvent(r *api.WatchEventResponse) {
	ev := r.GetPeer()
	if ev == nil || ev.Type != api.WatchEventResponse_PeerEvent_STATE || ev.Peer == nil || ev.Peer.State == nil {
		return
	}
	addr := ev.Peer.State.NeighborAddress
	state := stateOf(ev.Peer.State.SessionState)
	sp.mu.Lock()
	old := sp.states[addr]
	sp.states[addr] = state
	var peer Peer
	var known bool
	for _, p := range sp.peers {
		if p.Address.String() == addr {
			peer, known = p, true
		}
	}
	cb := sp.onState
	sp.mu.Unlock()
	if old == state || !known {
		return
	}
	sp.log.Info("BGP session state changed", "peer", peer.Name, "address", addr, "from", old, "to", state)
	if cb != nil {
		cb(peer, state)
	}
}

func stateOf(s api.PeerState_SessionState) State {
	switch s {
	case api.PeerState_IDLE:
		return StateIdle
	case api.PeerState_CONNECT:
		return StateConnect
	case api.PeerState_ACTIVE:
		return StateActive
	case api.PeerState_OPENSENT:
		return StateOpenSent
	case api.PeerState_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_ESTABLISHED:
		return StateEstablished
	}
	return StateUnknown
}

// States returns each peer's session state, by peer name.
func (sp *Speaker) States() map[string]State {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := make(map[string]State, len(sp.peers))
	for name, p := range sp.peers {
		st, ok := sp.states[p.Address.String()]
		if !ok {
			st = StateIdle
		}
		out[name] = st
	}
	return out
}

// SetPeers makes the speaker's peers exactly peers: new ones are added,
// changed ones replaced, gone ones removed. Unchanged sessions are left alone.
func (sp *Speaker) SetPeers(ctx context.Context, peers []Peer) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	want := make(map[string]Peer, len(peers))
	for _, p := range peers {
		want[p.Name] = p
	}
	var errs []error
	for name, old := range sp.peers {
		if p, ok := want[name]; ok && p == old {
			continue
		}
		if err := sp.s.DeletePeer(ctx, &api.DeletePeerRequest{Address: old.Address.String()}); err != nil {
			errs = append(errs, fmt.Errorf("removing BGP peer %s (%s): %w", name, old.Address, err))
			continue
		}
		delete(sp.states, old.Address.String())
		delete(sp.peers, name)
		sp.log.Info("Removed BGP peer", "peer", name, "address", old.Address)
	}
	for name, p := range want {
		if _, ok := sp.peers[name]; ok {
			continue
		}
		if err := sp.s.AddPeer(ctx, &api.AddPeerRequest{Peer: peerOf(p)}); err != nil {
			errs = append(errs, fmt.Errorf("adding BGP peer %s (%s): %w", name, p.Address, err))
			continue
		}
		sp.peers[name] = p
		sp.log.Info("Added BGP peer", "peer", name, "address", p.Address, "asn", p.ASN, "md5", p.Password != "")
	}
	return errors.Join(errs...)
}

// peerOf is GoBGP's configuration of p: both unicast families, so that IPv6
// routes travel over an IPv4 session and the reverse.
func peerOf(p Peer) *api.Peer {
	port := uint32(p.Port)
	if port == 0 {
		port = 179
	}
	hold := uint64(p.HoldTime / time.Second)
	keepalive := uint64(p.KeepaliveTime / time.Second)
	if hold == 0 {
		hold = 90
	}
	if keepalive == 0 {
		keepalive = max(hold/3, 1)
	}
	ap := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN, AuthPassword: p.Password, Description: p.Name},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: hold, KeepaliveInterval: keepalive, ConnectRetry: 5,
		}},
		Transport: &api.Transport{RemotePort: port},
		AfiSafis: []*api.AfiSafi{
			{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
			{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
		},
	}
	if p.EBGPMultihop > 0 {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: uint32(p.EBGPMultihop)}
	}
	return ap
}

// SetRoutes makes the advertised routes exactly routes: new and changed
// ones are advertised, gone ones withdrawn at once. It is called with every
// plan, thousands of routes many times a second while Services change, and
// allocates nothing for routes that stay as they are.
func (sp *Speaker) SetRoutes(ctx context.Context, routes []Route) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.round++
	var errs []error
	for _, r := range routes {
		old, ok := sp.routes[r.Prefix]
		if ok && sameRoute(r, old.Route) {
			old.round = sp.round
			sp.routes[r.Prefix] = old
			continue
		}
		if ok {
			if err := sp.withdraw(ctx, old.Route); err != nil {
				errs = append(errs, err)
				old.round = sp.round // still advertised as it was
				sp.routes[r.Prefix] = old
				continue
			}
			delete(sp.routes, r.Prefix)
		}
		p, err := pathOf(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := sp.s.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p}); err != nil {
			errs = append(errs, fmt.Errorf("advertising %s: %w", r.Prefix, err))
			continue
		}
		sp.routes[r.Prefix] = advertised{Route: r, round: sp.round}
	}
	for prefix, old := range sp.routes {
		if old.round == sp.round {
			continue
		}
		if err := sp.withdraw(ctx, old.Route); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(sp.routes, prefix)
	}
	return errors.Join(errs...)
}

func (sp *Speaker) withdraw(ctx context.Context, r Route) error {
	p, err := pathOf(r)
	if err != nil {
		return err
	}
	if err := sp.s.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: p.Family, Path: p}); err != nil {
		return fmt.Errorf("withdrawing %s: %w", r.Prefix, err)
	}
	return nil
}

func sameRoute(a, b Route) bool {
	return a.Prefix == b.Prefix && a.NextHop == b.NextHop && a.LocalPref == b.LocalPref &&
		slices.Equal(a.Communities, b.Communities) &&
		slices.Equal(a.LargeCommunities, b.LargeCommunities)
}

// Routes returns the advertised routes' prefixes.
func (sp *Speaker) Routes() []netip.Prefix {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	out := make([]netip.Prefix, 0, len(sp.routes))
	for p := range sp.routes {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

// Close withdraws every route, then closes the sessions with a Cease
// NOTIFICATION: either makes the router stop sending traffic here at once
// rather than after the hold time.
func (sp *Speaker) Close(ctx context.Context) error {
	err := sp.SetRoutes(ctx, nil)
	if stopErr := sp.s.StopBgp(ctx, &api.StopBgpRequest{}); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	return err
}

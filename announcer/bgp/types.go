package bgp

import (
	"net/netip"
	"time"
)

// Peer is a BGP neighbour of this node.
type Peer struct {
	Name          string
	Address       netip.Addr
	ASN           uint32
	Port          uint16
	HoldTime      time.Duration
	KeepaliveTime time.Duration
	EBGPMultihop  uint8 // 0: off
	Password      string
}

// Route is a prefix this node advertises, with the attributes it carries.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	// Which peers get the route is the pool's business: see SetPoolFilters.
	Communities      []string // "A:B" or a well-known name
	LargeCommunities []string // "A:B:C"
	LocalPref        uint32   // 0: not sent (iBGP only)
}

// State is a peer's session state, as GoBGP's FSM reports it.
type State string

// Session states.
const (
	StateUnknown     State = "unknown"
	StateIdle        State = "idle"
	StateConnect     State = "connect"
	StateActive      State = "active"
	StateOpenSent    State = "opensent"
	StateOpenConfirm State = "openconfirm"
	StateEstablished State = "established"
)

package planner

import "fmt"

// RefusalReason says why an address of a Service's status is not announced.
type RefusalReason int

const (
	// OutsidePools: no configured pool contains the address. The announcer
	// only announces addresses of its pools, whatever a Service's status
	// says.
	OutsidePools RefusalReason = iota + 1
	// UnknownMode: the pool that contains the address has a mode that is
	// none of bgp, l2 and vrrp. config.Parse refuses such a config, so this
	// only happens with a Config built by hand.
	UnknownMode
)

// String returns the reason in kebab case, bounded and fit for a metric
// label: "outside-pools", "unknown-mode".
func (r RefusalReason) String() string {
	switch r {
	case OutsidePools:
		return "outside-pools"
	case UnknownMode:
		return "unknown-mode"
	}
	return fmt.Sprintf("RefusalReason(%d)", int(r))
}

// MarshalText writes the reason as String does.
func (r RefusalReason) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// NoPeerReason says why a BGP route reaches no peer.
type NoPeerReason int

const (
	// NoPeerNone: the route has peers.
	NoPeerNone NoPeerReason = iota
	// NoPeerConfigured: the config has no peer for the pool (bgp.peers is
	// empty). The config is valid; nothing is announced.
	NoPeerConfigured
	// NoPeerForNode: the pool's peers exist, but the nodeSelector of none
	// of them matches this node.
	NoPeerForNode
)

// String returns the reason in kebab case: "no-peer-configured",
// "no-peer-for-node", or "" for NoPeerNone.
func (r NoPeerReason) String() string {
	switch r {
	case NoPeerNone:
		return ""
	case NoPeerConfigured:
		return "no-peer-configured"
	case NoPeerForNode:
		return "no-peer-for-node"
	}
	return fmt.Sprintf("NoPeerReason(%d)", int(r))
}

// MarshalText writes the reason as String does.
func (r NoPeerReason) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

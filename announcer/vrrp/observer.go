package vrrp

import "net/netip"

// Observer hears what a Router does, to count it, log it or raise Events.
// Its methods are called with the Router's lock held: they must return
// quickly and must not call the Router.
type Observer interface {
	// Dropped: a received packet was dropped; reason is one of the
	// Reason constants or ReasonUnknownVRID.
	Dropped(reason string)
	// Transition: an instance changed state; reason is a Cause's String.
	Transition(instance string, vrid uint8, from, to State, reason string)
	// ForeignAdvert: an advert for one of our VRIDs listed other
	// addresses than ours (RFC 5798 §7.1), say from a VRRP router that is
	// not one of our nodes. It is called for every such advert.
	ForeignAdvert(instance string, vrid uint8, src netip.Addr, addrs []netip.Addr)
}

// ReasonUnknownVRID is the drop reason of an advert for a VRID this node
// runs no instance of on that interface: another VRRP router's, usually.
const ReasonUnknownVRID = "unknown-vrid"

// Announcer tells the link that a new master holds ip: gratuitous ARP for
// IPv4, unsolicited neighbor advertisement for IPv6.
type Announcer interface {
	Announce(ifname string, ip netip.Addr) error
}

type nopObserver struct{}

func (nopObserver) Dropped(string)                                        {}
func (nopObserver) Transition(string, uint8, State, State, string)        {}
func (nopObserver) ForeignAdvert(string, uint8, netip.Addr, []netip.Addr) {}

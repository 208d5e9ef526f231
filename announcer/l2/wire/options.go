package wire

import (
	"net"
	"net/netip"
	"time"
)

// Address families passed to an Observer; bounded, so they can be metric labels.
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
)

// DefaultRepeats are the offsets, after the first announcement sent at once, at which a newly
// owned address is announced again: clients and switches that missed the first one still move.
func DefaultRepeats() []time.Duration {
	return []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}
}

// DefaultProbeWindow is how long Probe collects answers.
const DefaultProbeWindow = 500 * time.Millisecond

// An Observer counts what a Responder does. Its methods are called from the serving
// goroutines and must not block.
type Observer interface {
	// Replied is called after an ARP reply or solicited Neighbor Advertisement was sent.
	Replied(family string)
	// Announced is called after a gratuitous ARP or unsolicited Neighbor Advertisement was sent.
	Announced(family string)
	// Conflict is called when another MAC claims an address this node owns (split brain).
	Conflict(ip netip.Addr, mac net.HardwareAddr)
	// SendFailed is called when a reply or announcement could not be sent.
	SendFailed(family string, err error)
}

// NopObserver is an Observer that does nothing.
type NopObserver struct{}

var _ Observer = NopObserver{}

// Replied implements Observer.
func (NopObserver) Replied(string) {}

// Announced implements Observer.
func (NopObserver) Announced(string) {}

// Conflict implements Observer.
func (NopObserver) Conflict(netip.Addr, net.HardwareAddr) {}

// SendFailed implements Observer.
func (NopObserver) SendFailed(string, error) {}

// Options tune a Responder. The zero value is usable.
type Options struct {
	// Observer counts replies, announcements and conflicts; nil means NopObserver.
	Observer Observer
	// Repeats are the offsets after the first announcement of a newly owned address at which
	// it is announced again; nil means 250 ms, 500 ms and 1 s (four announcements in all),
	// an empty non-nil slice none.
	Repeats []time.Duration
	// ProbeWindow is how long Probe collects answers; zero means DefaultProbeWindow.
	ProbeWindow time.Duration
	// LinkLocal is the IPv6 link-local address of the interface, the source of the Neighbor
	// Solicitations Probe sends and how our own are recognized. Listen fills it in; New
	// requires it when it is given an NDP conn.
	LinkLocal netip.Addr
}

func (o Options) withDefaults() Options {
	if o.Observer == nil {
		o.Observer = NopObserver{}
	}
	if o.Repeats == nil {
		o.Repeats = DefaultRepeats()
	}
	if o.ProbeWindow <= 0 {
		o.ProbeWindow = DefaultProbeWindow
	}
	return o
}

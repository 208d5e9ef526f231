package wire

import (
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// ARPConn is what a Responder uses of an ARP connection. *arp.Client satisfies it; Listen uses
// its own packet-socket conn, which unlike arp.Client also works on an interface without IPv4.
type ARPConn interface {
	Read() (*arp.Packet, *ethernet.Frame, error)
	WriteTo(p *arp.Packet, addr net.HardwareAddr) error
	Close() error
}

// NDPConn is what a Responder uses of an NDP connection; *ndp.Conn satisfies it. The conn Listen
// builds reads from a packet socket instead, because a raw ICMPv6 socket never sees a unicast
// Neighbor Solicitation (a reachability probe) for an address that is not local to the node,
// nor one sent from the unspecified address (ndp.Conn filters those as its own); and it may
// send from the advertised address although the kernel does not hold it.
type NDPConn interface {
	ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error)
	WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error
	JoinGroup(group netip.Addr) error
	LeaveGroup(group netip.Addr) error
	Close() error
}

var (
	_ ARPConn = (*arp.Client)(nil)
	_ ARPConn = (*arpConn)(nil)
	_ NDPConn = (*ndp.Conn)(nil)
	_ NDPConn = (*ndpConn)(nil)
)

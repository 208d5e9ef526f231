package wire

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// ErrIPv6Unavailable is returned for an IPv6 address on an interface without an IPv6
// link-local address (IPv6 disabled), from which Neighbor Advertisements would be sent.
var ErrIPv6Unavailable = errors.New("no ipv6 link-local address on the interface")

// An Announcer sends gratuitous ARP and unsolicited Neighbor Advertisements on one interface
// without answering anything; VRRP mode uses it, and a Responder sends through one.
type Announcer struct {
	ifi       *net.Interface
	arp       ARPConn
	ndp       NDPConn
	linkLocal netip.Addr
}

// NewAnnouncer sends over the given conns. Either may be nil, and then Announce fails for
// that family; linkLocal is the source of the Neighbor Solicitations a Responder probes with.
func NewAnnouncer(ifi *net.Interface, arpConn ARPConn, ndpConn NDPConn, linkLocal netip.Addr) *Announcer {
	return &Announcer{ifi: ifi, arp: arpConn, ndp: ndpConn, linkLocal: linkLocal.WithZone("")}
}

// DialAnnouncer opens send-only sockets on ifi. IPv6 is left out when ifi has no link-local
// address.
func DialAnnouncer(ifi *net.Interface) (*Announcer, error) {
	a, err := listenARP(ifi, false)
	if err != nil {
		return nil, err
	}
	ll, err := linkLocalOf(ifi)
	if errors.Is(err, ErrIPv6Unavailable) {
		return NewAnnouncer(ifi, a, nil, netip.Addr{}), nil
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	n, err := listenNDP(ifi, false)
	if err != nil {
		a.Close()
		return nil, err
	}
	return NewAnnouncer(ifi, a, n, ll), nil
}

// Gratuitous sends one gratuitous ARP (IPv4) or unsolicited Neighbor Advertisement (IPv6)
// for ip on ifi, opening and closing the sockets it needs.
func Gratuitous(ifi *net.Interface, ip netip.Addr) error {
	a, err := DialAnnouncer(ifi)
	if err != nil {
		return err
	}
	return errors.Join(a.Announce(ip), a.Close())
}

// Announce sends one gratuitous ARP or unsolicited Neighbor Advertisement for ip now.
//
// IPv4: an ARP request with sender and target IP both ip and our MAC as sender, broadcast
// (an ARP Announcement, RFC 5227 §2.3). IPv6: a Neighbor Advertisement for ip to ff02::1
// from ip, Override set, Solicited clear, with our MAC as target link-layer address
// (RFC 4861 §7.2.6).
func (a *Announcer) Announce(ip netip.Addr) error {
	ip = ip.Unmap()
	var err error
	switch {
	case ip.Is4():
		var p *arp.Packet
		p, err = arp.NewPacket(arp.OperationRequest, a.ifi.HardwareAddr, ip, zeroMAC(), ip)
		if err == nil {
			err = a.writeARP(p, ethernet.Broadcast)
		}
	case ip.Is6():
		err = a.writeNA(ip, netip.IPv6LinkLocalAllNodes(), false)
	default:
		err = fmt.Errorf("invalid address %v", ip)
	}
	if err != nil {
		return fmt.Errorf("announcing %s on %s: %w", ip, a.ifi.Name, err)
	}
	return nil
}

// Close closes the conns.
func (a *Announcer) Close() error {
	var errs []error
	if a.arp != nil {
		errs = append(errs, a.arp.Close())
	}
	if a.ndp != nil {
		errs = append(errs, a.ndp.Close())
	}
	return errors.Join(errs...)
}

func (a *Announcer) writeARP(p *arp.Packet, to net.HardwareAddr) error {
	if a.arp == nil {
		return errors.New("no arp conn")
	}
	return a.arp.WriteTo(p, to)
}

// writeNA sends a Neighbor Advertisement for target to dst with Override set and our MAC as
// target link-layer address. It leaves from the target address itself, as Linux sends its
// own: ndisc6 drops an advertisement for a global target that comes from a link-local address
// (its scope does not match the target's), while Linux and other hosts accept either.
func (a *Announcer) writeNA(target, dst netip.Addr, solicited bool) error {
	return a.writeNDP(&ndp.NeighborAdvertisement{
		Solicited:     solicited,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: a.ifi.HardwareAddr}},
	}, target, dst)
}

// writeNDP sends m from src to dst with hop limit 255.
func (a *Announcer) writeNDP(m ndp.Message, src, dst netip.Addr) error {
	if a.ndp == nil {
		return ErrIPv6Unavailable
	}
	cm := &ipv6.ControlMessage{
		HopLimit: ndp.HopLimit,
		Src:      src.AsSlice(),
		IfIndex:  a.ifi.Index,
	}
	return a.ndp.WriteTo(m, cm, dst)
}

func zeroMAC() net.HardwareAddr { return make(net.HardwareAddr, 6) }

// linkLocalOf returns the first IPv6 link-local address of ifi.
func linkLocalOf(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if ok && ip.Is6() && !ip.Is4In6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s: %w", ifi.Name, ErrIPv6Unavailable)
}

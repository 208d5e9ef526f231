package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ndpConn sends NDP messages (marshaled by mdlayher/ndp) from a raw ICMPv6 socket listening on
// the unspecified address, which also holds the solicited-node group memberships, and receives
// from a packet socket that sees every Neighbor Solicitation and Advertisement on the link
// addressed to this host: multicast to a joined group, unicast reachability probes for
// addresses the kernel does not hold, and solicitations from the unspecified address. Frames
// this host sent are skipped.
//
// It is ndp.Conn with two changes: the socket may send from an address the kernel does not
// hold (IPV6_FREEBIND), so advertisements leave from the address they advertise, and the
// interface is named by index, never by a name that Go resolves in the network namespace of
// whichever thread writes.
type ndpConn struct {
	pc  *ipv6.PacketConn
	rx  *packet.Conn // nil for a send-only conn
	ifi *net.Interface
}

// ndpFilter accepts IPv6 frames whose next header is ICMPv6 of type 135 or 136.
func ndpFilter() []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadAbsolute{Off: ethHeaderLen + 6, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protocolICMPv6, SkipTrue: 3},
		bpf.LoadAbsolute{Off: ethHeaderLen + ipv6HeaderLen, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ipv6.ICMPTypeNeighborSolicitation), SkipTrue: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(ipv6.ICMPTypeNeighborAdvertisement), SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: 0xffff},
	}
}

// listenNDP opens the NDP sockets on ifi; with receive false only the sending one.
func listenNDP(ifi *net.Interface, receive bool) (*ndpConn, error) {
	pc, err := listenICMPv6()
	if err != nil {
		return nil, fmt.Errorf("opening ndp socket on %s: %w", ifi.Name, err)
	}
	nc := &ndpConn{pc: pc, ifi: ifi}
	if !receive {
		return nc, nil
	}
	filter, err := bpf.Assemble(ndpFilter())
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("assembling ndp filter: %w", err)
	}
	nc.rx, err = packet.Listen(ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: filter})
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("opening ndp packet socket on %s: %w", ifi.Name, err)
	}
	return nc, nil
}

// listenICMPv6 opens a raw ICMPv6 socket set up as ndp.Listen does (hop limit 255, checksum
// by the kernel), that may send from non-local addresses and never queues what it receives.
func listenICMPv6() (*ipv6.PacketConn, error) {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return nil, err
	}
	var serr error
	rc, err := c.(*net.IPConn).SyscallConn()
	if err == nil {
		err = rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
		})
	}
	if err = errors.Join(err, serr); err != nil {
		c.Close()
		return nil, fmt.Errorf("setting IPV6_FREEBIND: %w", err)
	}
	pc := ipv6.NewPacketConn(c)
	var none ipv6.ICMPFilter
	none.SetAll(true)
	for _, set := range []func() error{
		func() error { return pc.SetHopLimit(ndp.HopLimit) },
		func() error { return pc.SetMulticastHopLimit(ndp.HopLimit) },
		func() error { return pc.SetChecksum(true, 2) },
		func() error { return pc.SetICMPFilter(&none) },
	} {
		if err := set(); err != nil {
			pc.Close()
			return nil, err
		}
	}
	return pc, nil
}

// ReadFrom returns the next NDP message from another host with its hop limit, source and
// destination in the control message; the source carries the interface as zone.
func (c *ndpConn) ReadFrom() (ndp.Message, *ipv6.ControlMessage, netip.Addr, error) {
	if c.rx == nil {
		return nil, nil, netip.Addr{}, errors.New("ndp conn is send-only")
	}
	for {
		b := make([]byte, max(c.ifi.MTU, 1500)+ethHeaderLen)
		n, _, err := c.rx.ReadFrom(b)
		if err != nil {
			return nil, nil, netip.Addr{}, err
		}
		f, err := parseNDPFrame(b[:n])
		if err != nil || bytes.Equal(f.srcMAC, c.ifi.HardwareAddr) {
			continue
		}
		cm := &ipv6.ControlMessage{
			HopLimit: int(f.hopLimit),
			Src:      f.src.AsSlice(),
			Dst:      f.dst.AsSlice(),
			IfIndex:  c.ifi.Index,
		}
		return f.msg, cm, f.src.WithZone(c.ifi.Name), nil
	}
}

// WriteTo sends m to dst on the interface, with the source and hop limit of cm.
func (c *ndpConn) WriteTo(m ndp.Message, cm *ipv6.ControlMessage, dst netip.Addr) error {
	b, err := ndp.MarshalMessage(m)
	if err != nil {
		return err
	}
	out := ipv6.ControlMessage{HopLimit: ndp.HopLimit, IfIndex: c.ifi.Index}
	if cm != nil {
		out.HopLimit, out.Src = cm.HopLimit, cm.Src
	}
	_, err = c.pc.WriteTo(b, &out, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

// JoinGroup joins the multicast group on the interface.
func (c *ndpConn) JoinGroup(group netip.Addr) error {
	return c.pc.JoinGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()})
}

// LeaveGroup leaves the multicast group on the interface.
func (c *ndpConn) LeaveGroup(group netip.Addr) error {
	return c.pc.LeaveGroup(c.ifi, &net.IPAddr{IP: group.AsSlice()})
}

// Close closes the sockets.
func (c *ndpConn) Close() error {
	err := c.pc.Close()
	if c.rx != nil {
		err = errors.Join(err, c.rx.Close())
	}
	return err
}

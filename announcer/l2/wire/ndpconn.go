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
)

// ndpConn sends with an ndp.Conn listening on the unspecified address (which also joins the
// solicited-node groups) and receives from a packet socket that sees every Neighbor
// Solicitation and Advertisement on the link addressed to this host: multicast to a joined
// group, unicast reachability probes for addresses the kernel does not hold, and solicitations
// from the unspecified address. Frames this host sent are skipped.
type ndpConn struct {
	*ndp.Conn
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

// listenNDP opens the NDP conns on ifi; with receive false only the sending half.
func listenNDP(ifi *net.Interface, receive bool) (*ndpConn, error) {
	c, _, err := ndp.Listen(ifi, ndp.Unspecified)
	if err != nil {
		return nil, fmt.Errorf("opening ndp socket on %s: %w", ifi.Name, err)
	}
	// The raw socket only sends and holds group memberships: never queue what it receives.
	var none ipv6.ICMPFilter
	none.SetAll(true)
	if err := c.SetICMPFilter(&none); err != nil {
		c.Close()
		return nil, fmt.Errorf("filtering ndp socket on %s: %w", ifi.Name, err)
	}
	nc := &ndpConn{Conn: c, ifi: ifi}
	if !receive {
		return nc, nil
	}
	filter, err := bpf.Assemble(ndpFilter())
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("assembling ndp filter: %w", err)
	}
	nc.rx, err = packet.Listen(ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: filter})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("opening ndp packet socket on %s: %w", ifi.Name, err)
	}
	return nc, nil
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

// Close closes both sockets.
func (c *ndpConn) Close() error {
	err := c.Conn.Close()
	if c.rx != nil {
		err = errors.Join(err, c.rx.Close())
	}
	return err
}

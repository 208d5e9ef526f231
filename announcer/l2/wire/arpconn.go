package wire

import (
	"fmt"
	"net"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// etherTypeARP is the EtherType of ARP (RFC 826).
const etherTypeARP = 0x0806

// arpConn sends and receives ARP over a packet socket. It is arp.Client without the
// requirement that the interface has an IPv4 address: floatlb never sends from one.
type arpConn struct {
	p *packet.Conn
}

// listenARP opens a packet socket for ARP on ifi. With receive false the socket drops
// everything it would receive, for conns that only send.
func listenARP(ifi *net.Interface, receive bool) (*arpConn, error) {
	var cfg *packet.Config
	if !receive {
		filter, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
		if err != nil {
			return nil, fmt.Errorf("assembling drop-all filter: %w", err)
		}
		cfg = &packet.Config{Filter: filter}
	}
	p, err := packet.Listen(ifi, packet.Raw, etherTypeARP, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening arp socket on %s: %w", ifi.Name, err)
	}
	return &arpConn{p: p}, nil
}

// Read returns the next ARP packet; frames that do not parse are skipped.
func (c *arpConn) Read() (*arp.Packet, *ethernet.Frame, error) {
	for {
		b := make([]byte, 128)
		n, _, err := c.p.ReadFrom(b)
		if err != nil {
			return nil, nil, err
		}
		var f ethernet.Frame
		if err := f.UnmarshalBinary(b[:n]); err != nil || f.EtherType != ethernet.EtherTypeARP {
			continue
		}
		var p arp.Packet
		if err := p.UnmarshalBinary(f.Payload); err != nil {
			continue
		}
		return &p, &f, nil
	}
}

// WriteTo sends p in a frame to addr, from p's sender hardware address.
func (c *arpConn) WriteTo(p *arp.Packet, addr net.HardwareAddr) error {
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	fb, err := (&ethernet.Frame{
		Destination: addr,
		Source:      p.SenderHardwareAddr,
		EtherType:   ethernet.EtherTypeARP,
		Payload:     pb,
	}).MarshalBinary()
	if err != nil {
		return err
	}
	_, err = c.p.WriteTo(fb, &packet.Addr{HardwareAddr: addr})
	return err
}

// Close closes the socket.
func (c *arpConn) Close() error { return c.p.Close() }

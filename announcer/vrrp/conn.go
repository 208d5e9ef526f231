package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Conn sends and receives the VRRP messages of one family on every
// interface. ListenIPv4 and ListenIPv6 open the real ones; tests hand
// New their own.
type Conn interface {
	// JoinGroup and LeaveGroup join and leave the VRRP multicast group
	// on an interface.
	JoinGroup(ifindex int) error
	LeaveGroup(ifindex int) error
	// ReadFrom reads one VRRP message (the IP payload) into b.
	ReadFrom(b []byte) (int, PacketInfo, error)
	// WriteTo sends a VRRP message to the group out of ifindex from src
	// with TTL or hop limit 255.
	WriteTo(b []byte, ifindex int, src netip.Addr) error
	Close() error
}

// PacketInfo is what the IP layer says of a received message.
type PacketInfo struct {
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL     int
	IfIndex int
}

// ListenIPv4 opens a raw socket for IP protocol 112 that sends with TTL
// 255 and without multicast loopback, and reports the TTL, destination and
// interface of what it receives. It needs CAP_NET_RAW.
func ListenIPv4() (Conn, error) {
	pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("opening ipv4 vrrp socket: %w", err)
	}
	c := ipv4.NewPacketConn(pc)
	if err := errors.Join(
		c.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
		c.SetMulticastTTL(TTL),
		c.SetTTL(TTL),
		c.SetMulticastLoopback(false),
	); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("setting up ipv4 vrrp socket: %w", err)
	}
	return conn4{c}, nil
}

type conn4 struct{ c *ipv4.PacketConn }

func (c conn4) JoinGroup(ifindex int) error {
	return c.c.JoinGroup(&net.Interface{Index: ifindex}, &net.IPAddr{IP: GroupIPv4.AsSlice()})
}

func (c conn4) LeaveGroup(ifindex int) error {
	return c.c.LeaveGroup(&net.Interface{Index: ifindex}, &net.IPAddr{IP: GroupIPv4.AsSlice()})
}

func (c conn4) ReadFrom(b []byte) (int, PacketInfo, error) {
	n, cm, src, err := c.c.ReadFrom(b)
	if err != nil {
		return 0, PacketInfo{}, err
	}
	var p PacketInfo
	if a, ok := src.(*net.IPAddr); ok {
		p.Src = ipAddr(a.IP)
	}
	if cm != nil {
		p.Dst, p.TTL, p.IfIndex = ipAddr(cm.Dst), cm.TTL, cm.IfIndex
	}
	return n, p, nil
}

func (c conn4) WriteTo(b []byte, ifindex int, src netip.Addr) error {
	_, err := c.c.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifindex, Src: src.AsSlice()}, &net.IPAddr{IP: GroupIPv4.AsSlice()})
	return err
}

func (c conn4) Close() error { return c.c.Close() }

// ListenIPv6 opens a raw socket for next header 112 that sends with hop
// limit 255 and without multicast loopback, and reports the hop limit,
// destination and interface of what it receives. It needs CAP_NET_RAW.
func ListenIPv6() (Conn, error) {
	pc, err := net.ListenPacket("ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("opening ipv6 vrrp socket: %w", err)
	}
	c := ipv6.NewPacketConn(pc)
	if err := errors.Join(
		c.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
		c.SetMulticastHopLimit(TTL),
		c.SetHopLimit(TTL),
		c.SetMulticastLoopback(false),
	); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("setting up ipv6 vrrp socket: %w", err)
	}
	return conn6{c}, nil
}

type conn6 struct{ c *ipv6.PacketConn }

func (c conn6) JoinGroup(ifindex int) error {
	return c.c.JoinGroup(&net.Interface{Index: ifindex}, &net.IPAddr{IP: GroupIPv6.AsSlice()})
}

func (c conn6) LeaveGroup(ifindex int) error {
	return c.c.LeaveGroup(&net.Interface{Index: ifindex}, &net.IPAddr{IP: GroupIPv6.AsSlice()})
}

func (c conn6) ReadFrom(b []byte) (int, PacketInfo, error) {
	n, cm, src, err := c.c.ReadFrom(b)
	if err != nil {
		return 0, PacketInfo{}, err
	}
	var p PacketInfo
	if a, ok := src.(*net.IPAddr); ok {
		p.Src = ipAddr(a.IP)
	}
	if cm != nil {
		p.Dst, p.TTL, p.IfIndex = ipAddr(cm.Dst), cm.HopLimit, cm.IfIndex
	}
	return n, p, nil
}

func (c conn6) WriteTo(b []byte, ifindex int, src netip.Addr) error {
	_, err := c.c.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifindex, Src: src.AsSlice(), HopLimit: TTL}, &net.IPAddr{IP: GroupIPv6.AsSlice()})
	return err
}

func (c conn6) Close() error { return c.c.Close() }

func ipAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

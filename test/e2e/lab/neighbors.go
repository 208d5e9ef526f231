package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// ARPing asks who has ip from host's main interface with iputils arping:
// count ARP requests, one a second, all broadcast (so that every host that
// answers is heard, not just the first), waiting at most wait for count
// replies. It returns the sender hardware address of every reply, in the
// order they came; none when nobody answered, which is not an error.
//
// arping reads replies on a packet socket, but the host's kernel sees them
// too and updates a neighbour entry for ip that it already has.
func (l *Lab) ARPing(ctx context.Context, host *Host, ip netip.Addr, count int, wait time.Duration) ([]net.HardwareAddr, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("arping %s: not an IPv4 address", ip)
	}
	secs := strconv.Itoa(int(math.Ceil(wait.Seconds())))
	out, err := l.Exec(ctx, host, "arping", "-b", "-c", strconv.Itoa(count), "-w", secs, "-I", host.Interface, ip.String())
	if err != nil && !exitedWith(err, 1) { // 1: no reply
		return nil, err
	}
	return parseARPing(out)
}

// NDisc sends one Neighbor Solicitation for ip from host's main interface
// with ndisc6 and returns the target link-layer address of every Neighbor
// Advertisement that answers it within wait (ndisc6 -m: all of them, not
// just the first); none when nobody answered, which is not an error.
func (l *Lab) NDisc(ctx context.Context, host *Host, ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	if !ip.Is6() || ip.Is4In6() {
		return nil, fmt.Errorf("ndisc6 %s: not an IPv6 address", ip)
	}
	ms := strconv.Itoa(int(wait.Milliseconds()))
	out, err := l.Exec(ctx, host, "ndisc6", "-m", "-n", "-r", "1", "-w", ms, ip.String(), host.Interface)
	if err != nil && !exitedWith(err, 2) { // 2: no response
		return nil, err
	}
	return parseNDisc(out)
}

// exitedWith reports whether err is a command's exit with status code.
func exitedWith(err error, code int) bool {
	var exit *exec.ExitError
	return errors.As(err, &exit) && exit.ExitCode() == code
}

var (
	// "Unicast reply from 192.0.2.2 [86:0B:A0:F4:0B:46]  0.556ms"
	arpingReply = regexp.MustCompile(`(?m)^\w+ reply from \S+ \[([0-9A-Fa-f:]+)\]`)
	// "Target link-layer address: 86:0B:A0:F4:0B:46"
	ndiscReply = regexp.MustCompile(`(?m)^Target link-layer address: ([0-9A-Fa-f:]+)`)
)

// parseARPing returns the hardware addresses of the replies that iputils
// arping printed.
func parseARPing(out []byte) ([]net.HardwareAddr, error) {
	return parseMACs(arpingReply, out, "arping")
}

// parseNDisc returns the target link-layer addresses that ndisc6 printed.
func parseNDisc(out []byte) ([]net.HardwareAddr, error) {
	return parseMACs(ndiscReply, out, "ndisc6")
}

func parseMACs(re *regexp.Regexp, out []byte, tool string) ([]net.HardwareAddr, error) {
	var macs []net.HardwareAddr
	for _, m := range re.FindAllSubmatch(out, -1) {
		mac, err := net.ParseMAC(string(m[1]))
		if err != nil {
			return nil, fmt.Errorf("parsing the output of %s: %w", tool, err)
		}
		macs = append(macs, mac)
	}
	return macs, nil
}

// Neighbor returns the hardware address of host's neighbour entry for ip on
// its main interface (`ip neigh show`), or nil when it has none or the
// entry has no address (INCOMPLETE, FAILED). Reading it sends nothing.
func (l *Lab) Neighbor(ctx context.Context, host *Host, ip netip.Addr) (net.HardwareAddr, error) {
	out, err := run(ctx, l.ip, "-n", host.NS, "-j", "neigh", "show", "to", ip.String(), "dev", host.Interface)
	if err != nil {
		return nil, err
	}
	return parseNeighbor(out, ip)
}

// parseNeighbor picks ip's hardware address out of `ip -j neigh show`.
func parseNeighbor(out []byte, ip netip.Addr) (net.HardwareAddr, error) {
	var entries []struct {
		Dst    string `json:"dst"`
		LLAddr string `json:"lladdr"`
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("parsing ip -j neigh output: %w", err)
	}
	for _, e := range entries {
		dst, err := netip.ParseAddr(e.Dst)
		if err != nil || dst != ip || e.LLAddr == "" {
			continue
		}
		mac, err := net.ParseMAC(e.LLAddr)
		if err != nil {
			return nil, fmt.Errorf("neighbour %s: %w", ip, err)
		}
		return mac, nil
	}
	return nil, nil
}

// OnLink makes host reach the addresses of prefix directly on its main
// interface, resolving each with ARP or NDP, as hosts do whose subnet a
// Layer 2 pool is part of (`ip route replace PREFIX dev eth0`). Without it
// the LAN host and the router send to the pools' addresses via their
// default routes.
func (l *Lab) OnLink(ctx context.Context, host *Host, prefix netip.Prefix) error {
	return l.ipIn(ctx, host.NS, "route", "replace", prefix.Masked().String(), "dev", host.Interface)
}

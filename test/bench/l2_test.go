package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/floatlb/floatlb/announcer/l2"
	"github.com/floatlb/floatlb/test/e2e/lab"
)

// l2BenchLease is l2BenchConfig's leaseDuration: the e2e tests' value, half
// the default, which the kill -9 goal (leaseDuration + 0.5 s) is relative to.
const l2BenchLease = 2 * time.Second

const l2BenchConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: lan
  mode: l2
  addresses: [198.19.20.0/24, 2001:db8:200::/120]
l2:
  leaseDuration: 2s
`

var l2BenchPools = []netip.Prefix{netip.MustParsePrefix("198.19.20.0/24"), netip.MustParsePrefix("2001:db8:200::/120")}

// BenchmarkL2Failover reports, over 5 runs each (FLOATLB_BENCH_FAILOVER_RUNS
// sets another number), the time from a fault of the owner of a
// dual-stack l2 Service until the LAN host's kernel sends to the new owner,
// for IPv4 and IPv6: its neighbour entry for the address, resolved once
// before the runs, is moved by the new owner's gratuitous ARP / unsolicited
// NA alone (nothing else is sent to the address), and read every 10 ms.
// The faults: SIGTERM of the owner's announcer (it releases its Lease),
// kill -9 (its Lease expires after leaseDuration 2s), and its eth0 going
// down (it releases its Lease). Between runs the announcer is restarted or
// the link brought up, and the next run waits until the first owner alone
// owns both addresses again and the LAN host has gone back to it for 1.5 s.
func BenchmarkL2Failover(b *testing.B) {
	for b.Loop() {
		bed := newLANBed(b, l2BenchConfig, l2BenchPools...)
		ctx := context.Background()
		nodes := bed.nodeNames()
		runs := failoverRuns(b)
		ips := l2BenchPair(nodes)
		first := l2Owner(ips[0], nodes)
		second := l2Owner(ips[0], bed.nodeNames(first))
		victim := bed.node(b, first)
		bed.acceptVIPs(b, ips...)
		created := time.Now()
		bed.service(b, "l2", ips...)
		for _, ip := range ips {
			bed.resolve(b, ip)
		}
		bed.waitL2Owner(b, first, ips)
		lanLog(b, "Service with %v created → %s owns both and the LAN host sends to it: %s", ips, first, time.Since(created).Round(time.Millisecond))
		bed.checkAnswerers(b, ctx, ips, first)

		restart := func() error { bed.startAnnouncer(b, victim); return nil }
		faults := []struct {
			name, what string
			goal       time.Duration
			fault      func() error
			restore    func() error
		}{
			{"sigterm", "SIGTERM of the owner's announcer", 500 * time.Millisecond,
				func() error { return bed.announcers[first].Stop() }, restart},
			{"kill9", "kill -9 of the owner's announcer", l2BenchLease + 500*time.Millisecond,
				func() error { return bed.announcers[first].Kill() }, restart},
			{"linkdown", "the owner's eth0 down", time.Second,
				func() error { return bed.lab.LinkDown(ctx, victim) },
				func() error { return bed.lab.LinkUp(ctx, victim) }},
		}
		var cases []*failoverCase
		for _, f := range faults {
			byIP := map[netip.Addr]*failoverCase{}
			for _, ip := range ips {
				c := &failoverCase{name: f.name + "-" + familyName(ip), what: fmt.Sprintf("%s, IPv%d", f.what, map[bool]int{true: 4, false: 6}[ip.Is4()]), goal: f.goal}
				byIP[ip] = c
				cases = append(cases, c)
			}
			for run := 1; run <= runs; run++ {
				conds := map[string]func() (bool, error){}
				for _, ip := range ips {
					conds[ip.String()] = func() (bool, error) {
						got, err := bed.lanSendsTo(ip)
						return got == second, err
					}
				}
				start := time.Now()
				wait := runFault(b, f.fault)
				took := timeUntil(b, start, 30*time.Second, conds)
				wait()
				line := fmt.Sprintf("%s run %d: %s → LAN host sends to %s after", f.name, run, first, second)
				for _, ip := range ips {
					byIP[ip].times = append(byIP[ip].times, took[ip.String()])
					line += fmt.Sprintf(" %s (%s)", took[ip.String()].Round(time.Millisecond), ip)
				}
				lanLog(b, "%s", line)

				if err := f.restore(); err != nil {
					b.Fatal(err)
				}
				bed.waitL2Owner(b, first, ips)
			}
		}
		lanLog(b, "leaseDuration %s, 3 nodes, dual-stack Service %v owned by %s, next %s", l2BenchLease, ips, first, second)
		reportFailovers(b, cases)
	}
}

// l2BenchPair returns an IPv4 and an IPv6 address of the l2 pool that the
// same node owns while every node is live, and the same other node once
// that one is gone, so that one fault moves both to a known node.
func l2BenchPair(nodes []string) []netip.Addr {
	for i := 10; i < 250; i++ {
		v4 := netip.AddrFrom4([4]byte{198, 19, 20, byte(i)})
		o := l2Owner(v4, nodes)
		rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == o })
		next := l2Owner(v4, rest)
		for j := 0x10; j < 0xf0; j++ {
			v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:200::%x", j))
			if l2Owner(v6, nodes) == o && l2Owner(v6, rest) == next {
				return []netip.Addr{v4, v6}
			}
		}
	}
	panic("no pair of l2 addresses with the same owners")
}

// l2Owner is the owner of ip among nodes, all live, as every announcer
// computes it.
func l2Owner(ip netip.Addr, nodes []string) string {
	o, _ := l2.Owner(ip, nodes, func(string) bool { return true })
	return o
}

// waitL2Owner waits until owner's announcer alone owns ips (its
// floatlb_l2_owned_addresses) and the LAN host sends ips' packets to it,
// both for 1.5 s without a break: longer than a new owner repeats its
// announcements (1 s), so that none of an earlier owner is still on its way.
func (bed *lanBed) waitL2Owner(b *testing.B, owner string, ips []netip.Addr) {
	b.Helper()
	steady(b, time.Minute, 1500*time.Millisecond, fmt.Sprintf("%s alone owns %v", owner, ips), func() error {
		for _, h := range bed.lab.Nodes() {
			n, err := announcerMetric(h, "floatlb_l2_owned_addresses")
			if err != nil {
				return err
			}
			want := 0
			if h.Name == owner {
				want = len(ips)
			}
			if int(n) != want {
				return fmt.Errorf("%s owns %v addresses, want %d", h, n, want)
			}
		}
		for _, ip := range ips {
			got, err := bed.lanSendsTo(ip)
			if err != nil {
				return err
			}
			if got != owner {
				return fmt.Errorf("the LAN host sends %s to %s", ip, got)
			}
		}
		return nil
	})
}

// checkAnswerers checks once, with arping and ndisc6 from the LAN host,
// that owner alone answers for ips.
func (bed *lanBed) checkAnswerers(b *testing.B, ctx context.Context, ips []netip.Addr, owner string) {
	b.Helper()
	lan := bed.lab.LANHost()
	for _, ip := range ips {
		var got []net.HardwareAddr
		var err error
		if ip.Is4() {
			got, err = bed.lab.ARPing(ctx, lan, ip, 2, 3*time.Second)
		} else {
			got, err = bed.lab.NDisc(ctx, lan, ip, time.Second)
		}
		if err != nil {
			b.Fatal(err)
		}
		var macs []string
		for _, m := range got {
			macs = append(macs, bed.nodeOfMAC(m))
		}
		slices.Sort(macs)
		if macs = slices.Compact(macs); len(macs) != 1 || macs[0] != owner {
			b.Fatalf("%s is answered by %v, want %s alone", ip, macs, owner)
		}
	}
}

// l2FootprintConfig is a Layer 2 pool of 8,192 addresses at the default
// leaseDuration (4s: each announcer renews its Lease every second).
const l2FootprintConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: lan
  mode: l2
  addresses: [198.19.32.0/19]
`

// BenchmarkAnnouncerL25000 reports the footprint of the three announcers
// of a Layer 2 pool with 5,000 Services, each owning about a third of
// their addresses and answering ARP for them, counted by the announcers'
// floatlb_l2_owned_addresses (see measureFootprint).
func BenchmarkAnnouncerL25000(b *testing.B) {
	for b.Loop() {
		bed := startLANBed(b, l2FootprintConfig, nil, "--profiling")
		owned := func(h *lab.Host) (int, error) {
			n, err := announcerMetric(h, "floatlb_l2_owned_addresses")
			return int(n), err
		}
		measureFootprint(b, bed.footprint("l2", footprintAddress(32),
			func(context.Context) (int, error) {
				sum := 0
				for _, h := range bed.lab.Nodes() {
					n, err := owned(h)
					if err != nil {
						return 0, err
					}
					sum += n
				}
				return sum, nil
			},
			func(h *lab.Host) string {
				n, err := owned(h)
				if err != nil {
					return err.Error()
				}
				return fmt.Sprintf("owns %d addresses", n)
			}))
	}
}

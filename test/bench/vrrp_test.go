package bench

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
)

// vrrpBenchInterval is vrrpBenchConfig's advertInterval; the kill -9 goal
// is 3 × advertInterval + 0.2 s.
const vrrpBenchInterval = 100 * time.Millisecond

const vrrpBenchConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: vip
  mode: vrrp
  addresses: [198.19.30.0/24, 2001:db8:300::/120]
vrrp:
  advertInterval: 100ms
`

var vrrpBenchPools = []netip.Prefix{netip.MustParsePrefix("198.19.30.0/24"), netip.MustParsePrefix("2001:db8:300::/120")}

// BenchmarkVRRPFailover reports, over 5 runs each
// (FLOATLB_BENCH_FAILOVER_RUNS sets another number), for the IPv4 and the
// IPv6 address of a dual-stack vrrp Service (one instance each,
// advertInterval 100ms), the time from SIGTERM (priority-0 advert) or
// kill -9 of the master's announcer until the next master holds the address
// on its eth0, and until the LAN host's kernel sends to it (its neighbour
// entry, resolved once before the runs, moved by the new master's
// gratuitous ARP / unsolicited NA), both read every 10 ms. A killed
// announcer leaves the address on its node, as a crash would; its restart
// removes it. Between runs the announcer is restarted and the next run
// waits until its node alone holds the address again and the LAN host has
// gone back to it for 1 s.
func BenchmarkVRRPFailover(b *testing.B) {
	for b.Loop() {
		bed := newLANBed(b, vrrpBenchConfig, vrrpBenchPools...)
		nodes := bed.nodeNames()
		runs := failoverRuns(b)
		ips := []netip.Addr{netip.MustParseAddr("198.19.30.10"), netip.MustParseAddr("2001:db8:300::a")}
		created := time.Now()
		bed.service(b, "vrrp", ips...)
		master := map[netip.Addr]string{}
		for _, ip := range ips {
			master[ip] = vrrpMaster(b, ip, nodes, nodes)
			bed.waitVRRPMaster(b, master[ip], ip, false)
			bed.resolve(b, ip)
			bed.waitVRRPMaster(b, master[ip], ip, true)
		}
		lanLog(b, "Service with %v created → masters %v, the LAN host sends to them: %s", ips, master, time.Since(created).Round(time.Millisecond))

		faults := []struct {
			name, what string
			goal       time.Duration
			fault      func(node string) error
		}{
			{"sigterm", "SIGTERM of the master's announcer", 200 * time.Millisecond,
				func(node string) error { return bed.announcers[node].Stop() }},
			{"kill9", "kill -9 of the master's announcer", 3*vrrpBenchInterval + 200*time.Millisecond,
				func(node string) error { return bed.announcers[node].Kill() }},
		}
		var cases []*failoverCase
		for _, f := range faults {
			held, moved := map[netip.Addr]*failoverCase{}, map[netip.Addr]*failoverCase{}
			for _, ip := range ips {
				fam := familyName(ip)
				held[ip] = &failoverCase{name: f.name + "-" + fam + "-held", what: fmt.Sprintf("%s, IP%s: next master holds it", f.what, fam), goal: f.goal}
				moved[ip] = &failoverCase{name: f.name + "-" + fam + "-lan", what: fmt.Sprintf("%s, IP%s: LAN host sends to it", f.what, fam), goal: f.goal}
				cases = append(cases, held[ip], moved[ip])
			}
			for run := 1; run <= runs; run++ {
				// One fault per master: both addresses at once when one
				// node is master of both instances.
				for _, old := range vrrpMasters(ips, master) {
					conds := map[string]func() (bool, error){}
					next := map[netip.Addr]string{}
					for _, ip := range ips {
						if master[ip] != old {
							continue
						}
						next[ip] = vrrpMaster(b, ip, nodes, bed.nodeNames(old))
						conds["held "+ip.String()] = func() (bool, error) { return bed.holds(next[ip], ip) }
						conds["lan "+ip.String()] = func() (bool, error) {
							got, err := bed.lanSendsTo(ip)
							return got == next[ip], err
						}
					}
					start := time.Now()
					wait := runFault(b, func() error { return f.fault(old) })
					took := timeUntil(b, start, 30*time.Second, conds)
					wait()
					line := fmt.Sprintf("%s run %d: master %s →", f.name, run, old)
					for _, ip := range ips {
						n, ok := next[ip]
						if !ok {
							continue
						}
						h, l := took["held "+ip.String()], took["lan "+ip.String()]
						held[ip].times = append(held[ip].times, h)
						moved[ip].times = append(moved[ip].times, l)
						line += fmt.Sprintf(" %s holds %s after %s, LAN host sends to it after %s;", n, ip, h.Round(time.Millisecond), l.Round(time.Millisecond))
					}
					lanLog(b, "%s", line)

					bed.startAnnouncer(b, bed.node(b, old))
					for ip := range next {
						bed.waitVRRPMaster(b, old, ip, true)
					}
				}
			}
		}
		lanLog(b, "advertInterval %s, 3 nodes, dual-stack Service %v, masters %v", vrrpBenchInterval, ips, master)
		reportFailovers(b, cases)
	}
}

// vrrpMasters returns the distinct masters of ips, in the order of ips.
func vrrpMasters(ips []netip.Addr, master map[netip.Addr]string) []string {
	var out []string
	for _, ip := range ips {
		if !slices.Contains(out, master[ip]) {
			out = append(out, master[ip])
		}
	}
	return out
}

// vrrpMaster is the node of running with the highest priority in the
// instance of ip whose eligible nodes are nodes, as every node computes it
// on eth0.
func vrrpMaster(b *testing.B, ip netip.Addr, nodes, running []string) string {
	b.Helper()
	master, err := fixture.VRRPMaster(ip, "eth0", nodes, running)
	if err != nil {
		b.Fatal(err)
	}
	return master
}

// waitVRRPMaster waits until master alone of the nodes holds ip on eth0
// and, with lan, the LAN host sends to it, for 1 s without a break (ten
// adverts).
func (bed *lanBed) waitVRRPMaster(b *testing.B, master string, ip netip.Addr, lan bool) {
	b.Helper()
	steady(b, time.Minute, time.Second, fmt.Sprintf("%s alone holds %s", master, ip), func() error {
		for _, n := range bed.nodeNames() {
			has, err := bed.holds(n, ip)
			if err != nil {
				return err
			}
			if has != (n == master) {
				return fmt.Errorf("%s holds %s: %v", n, ip, has)
			}
		}
		if !lan {
			return nil
		}
		got, err := bed.lanSendsTo(ip)
		if err != nil {
			return err
		}
		if got != master {
			return fmt.Errorf("the LAN host sends %s to %s", ip, got)
		}
		return nil
	})
}

// vrrpFootprintConfig is a vrrp pool of 8,192 addresses; %s is the
// advertInterval.
const vrrpFootprintConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: vip
  mode: vrrp
  addresses: [198.19.64.0/19]
vrrp:
  advertInterval: %s
`

// vrrpFootprintPool is vrrpFootprintConfig's pool.
var vrrpFootprintPool = netip.MustParsePrefix("198.19.64.0/19")

// BenchmarkAnnouncerVRRP5000 reports the footprint of the three
// announcers of a vrrp pool with 5,000 Services: the same three nodes may
// hold each address, so the addresses fall into one node set, split into
// 20 instances of at most 255 addresses (one advert's worth); each
// instance's master sends 10 adverts a second (advertInterval 100ms) and
// holds its addresses on eth0, where the benchmark counts them (see
// measureFootprint). Idle CPU is measured again at the default
// advertInterval, 1s (%cpu-idle-advert1s).
func BenchmarkAnnouncerVRRP5000(b *testing.B) {
	for b.Loop() {
		bed := startLANBed(b, fmt.Sprintf(vrrpFootprintConfig, "100ms"), nil, "--profiling")
		f := bed.footprint("vrrp", footprintAddress(64),
			func(context.Context) (int, error) {
				sum := 0
				for _, h := range bed.lab.Nodes() {
					n, err := bed.links[h.Name].count(vrrpFootprintPool)
					if err != nil {
						return 0, err
					}
					sum += n
				}
				return sum, nil
			},
			func(h *lab.Host) string {
				masters, err := announcerMetric(h, "floatlb_vrrp_master_instances")
				if err != nil {
					return err.Error()
				}
				all, err := announcerMetric(h, "floatlb_vrrp_instances")
				if err != nil {
					return err.Error()
				}
				changes, err := announcerMetric(h, "floatlb_vrrp_transitions_total")
				if err != nil {
					return err.Error()
				}
				return fmt.Sprintf("master of %d of %d instances, %d state changes in all", int(masters), int(all), int(changes))
			})
		f.variants = []footprintVariant{{name: "advert1s", config: fmt.Sprintf(vrrpFootprintConfig, "1s")}}
		measureFootprint(b, f)
	}
}

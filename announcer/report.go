package announcer

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// announcement is one address of one Service that this node makes
// reachable.
type announcement struct {
	service string
	mode    config.Mode
	ip      netip.Addr
	// message, for l2, is what the new owner says when it takes the address.
	message string
}

// reported is what the last Event said of a Service.
type reported struct {
	message string
	// withdrawable: a Withdrawn Event follows when the Service is no
	// longer announced by this node. Not for l2, whose new owner says so.
	withdrawable bool
}

// bgpAnnouncements lists the Services' addresses of the routes.
func bgpAnnouncements(routes []planner.Route) []announcement {
	var out []announcement
	for _, r := range routes {
		for _, svc := range r.Services {
			for _, ip := range r.IPs {
				out = append(out, announcement{service: svc, mode: config.ModeBGP, ip: ip})
			}
		}
	}
	return out
}

// countIPs counts the distinct addresses of anns.
func countIPs(anns []announcement) int {
	seen := map[netip.Addr]bool{}
	for _, a := range anns {
		seen[a.ip] = true
	}
	return len(seen)
}

// report sends an Event to each Service whose announcement by this node
// changed. The first plan after a start is recorded, not reported: a
// restarted announcer announces what it announced before, and thousands of
// Services must not get an Event each time. client-go's event correlator
// rate-limits Events per Service, so a flapping node cannot flood.
func (a *Announcer) report(anns []announcement) {
	silent := !a.seeded
	a.seeded = true
	type parts struct {
		bgp []string
		l2  []string
	}
	now := map[string]*parts{}
	for _, an := range anns {
		p := now[an.service]
		if p == nil {
			p = &parts{}
			now[an.service] = p
		}
		switch an.mode {
		case config.ModeL2:
			p.l2 = append(p.l2, an.message)
		default:
			p.bgp = append(p.bgp, an.ip.String())
		}
	}
	for svc, p := range now {
		var msgs []string
		if len(p.bgp) > 0 {
			slices.Sort(p.bgp)
			msgs = append(msgs, fmt.Sprintf("%s announces %s by bgp", a.opts.NodeName, strings.Join(slices.Compact(p.bgp), ", ")))
		}
		slices.Sort(p.l2)
		msgs = append(msgs, slices.Compact(p.l2)...)
		r := reported{message: strings.Join(msgs, "; "), withdrawable: len(p.bgp) > 0}
		if a.announced[svc] != r {
			a.announced[svc] = r
			if !silent {
				a.event(svc, v1.EventTypeNormal, "floatlb.io/Announced", r.message)
			}
		}
	}
	for svc, r := range a.announced {
		if _, ok := now[svc]; !ok {
			delete(a.announced, svc)
			if r.withdrawable {
				a.event(svc, v1.EventTypeNormal, "floatlb.io/Withdrawn", fmt.Sprintf("%s no longer announces this Service", a.opts.NodeName))
			}
		}
	}
}

// splitBrain warns the Services of an l2 address that another host answers
// for it too.
func (a *Announcer) splitBrain(services []string, ip netip.Addr, ifname string, macs []net.HardwareAddr) {
	var others []string
	for _, m := range macs {
		others = append(others, m.String())
	}
	msg := fmt.Sprintf("%s answers ARP/NDP for %s on %s, and so does %s: another host or cluster uses this address; remove it there or take it out of the pool",
		a.opts.NodeName, ip, ifname, strings.Join(others, ", "))
	a.log.Error(nil, "Another host answers for an owned Layer 2 address", "ip", ip, "interface", ifname, "others", others)
	for _, svc := range services {
		a.event(svc, v1.EventTypeWarning, "floatlb.io/SplitBrain", msg)
	}
}

package announcer

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

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

// reported is what the last Event said of a Service, and what is left of
// its Event budget.
type reported struct {
	said
	budget eventBudget
}

// said is what an Announced Event says; the zero value, that this node
// does not announce the Service (a Service is remembered so for its
// budget, while that is spent).
type said struct {
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
// Services must not get an Event each time.
func (a *Announcer) report(anns []announcement) { a.reportAt(anns, time.Now()) }

// reportAt is report at the time now. A Service whose Event budget is spent
// keeps its last report: a later plan (at the latest the resync's, every
// 30 s) tells the state of then once the budget allows, so a flapping node
// cannot flood and the last Event on a Service stays true.
func (a *Announcer) reportAt(anns []announcement, now time.Time) {
	silent := !a.seeded
	a.seeded = true
	type parts struct {
		bgp []string
		l2  []string
	}
	current := map[string]*parts{}
	for _, an := range anns {
		p := current[an.service]
		if p == nil {
			p = &parts{}
			current[an.service] = p
		}
		switch an.mode {
		case config.ModeL2:
			p.l2 = append(p.l2, an.message)
		default:
			p.bgp = append(p.bgp, an.ip.String())
		}
	}
	held := 0
	for svc, p := range current {
		var msgs []string
		if len(p.bgp) > 0 {
			slices.Sort(p.bgp)
			msgs = append(msgs, fmt.Sprintf("%s announces %s by bgp", a.opts.NodeName, strings.Join(slices.Compact(p.bgp), ", ")))
		}
		slices.Sort(p.l2)
		msgs = append(msgs, slices.Compact(p.l2)...)
		s := said{message: strings.Join(msgs, "; "), withdrawable: len(p.bgp) > 0}
		r := a.announced[svc]
		if r.said == s {
			continue
		}
		if silent {
			a.announced[svc] = reported{said: s}
			continue
		}
		var ok bool
		if r.budget, ok = r.budget.take(now); !ok {
			held++
			continue
		}
		r.said = s
		a.announced[svc] = r
		a.event(svc, v1.EventTypeNormal, "floatlb.io/Announced", s.message)
	}
	for svc, r := range a.announced {
		if _, ok := current[svc]; ok {
			continue
		}
		if r.withdrawable {
			var ok bool
			if r.budget, ok = r.budget.take(now); !ok {
				held++
				continue
			}
			a.event(svc, v1.EventTypeNormal, "floatlb.io/Withdrawn", fmt.Sprintf("%s no longer announces this Service", a.opts.NodeName))
		}
		if r.budget.spent(now) {
			a.announced[svc] = reported{budget: r.budget}
		} else {
			delete(a.announced, svc)
		}
	}
	if held > 0 {
		a.log.V(2).Info("Holding back the Events of Services that had many lately; a later plan tells their state", "services", held)
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

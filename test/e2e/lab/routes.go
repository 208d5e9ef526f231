package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Family is an address family.
type Family int

// The address families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string { return fmt.Sprintf("IPv%d", int(f)) }

// Route is a route of a kernel routing table.
type Route struct {
	Dst netip.Prefix
	// Protocol is who made the route: "kernel", "boot" (ip route add),
	// "bird", "static" …; empty means boot.
	Protocol string
	// NextHops has one entry per path: several for an ECMP route, one for
	// an ordinary route (with an invalid Gateway for a connected one).
	NextHops []NextHop
}

// NextHop is one path of a route.
type NextHop struct {
	Gateway netip.Addr
	Dev     string
}

// Gateways returns the route's gateways, sorted.
func (r Route) Gateways() []netip.Addr {
	var gws []netip.Addr
	for _, nh := range r.NextHops {
		if nh.Gateway.IsValid() {
			gws = append(gws, nh.Gateway)
		}
	}
	slices.SortFunc(gws, netip.Addr.Compare)
	return gws
}

// Routes returns the routes of host's main table for family (`ip -j route
// show`).
func (l *Lab) Routes(ctx context.Context, host *Host, family Family) ([]Route, error) {
	out, err := run(ctx, l.ip, "-n", host.NS, "-j", fmt.Sprintf("-%d", int(family)), "route", "show")
	if err != nil {
		return nil, err
	}
	routes, err := parseRoutes(out, family)
	if err != nil {
		return nil, fmt.Errorf("routes of %s: %w", host, err)
	}
	return routes, nil
}

// Route returns host's route to exactly dst, if there is one.
func (l *Lab) Route(ctx context.Context, host *Host, dst netip.Prefix) (Route, bool, error) {
	family := IPv4
	if dst.Addr().Is6() {
		family = IPv6
	}
	routes, err := l.Routes(ctx, host, family)
	if err != nil {
		return Route{}, false, err
	}
	for _, r := range routes {
		if r.Dst == dst.Masked() {
			return r, true, nil
		}
	}
	return Route{}, false, nil
}

// jsonRoute is a route as `ip -j route show` prints it.
type jsonRoute struct {
	Dst      string    `json:"dst"`
	Gateway  string    `json:"gateway"`
	Dev      string    `json:"dev"`
	Protocol string    `json:"protocol"`
	NextHops []jsonHop `json:"nexthops"`
}

type jsonHop struct {
	Gateway string `json:"gateway"`
	Dev     string `json:"dev"`
}

// parseRoutes parses the output of `ip -j route show` for family.
func parseRoutes(b []byte, family Family) ([]Route, error) {
	var raw []jsonRoute
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parsing ip -j route output: %w", err)
	}
	routes := make([]Route, 0, len(raw))
	for _, jr := range raw {
		dst, err := parseDst(jr.Dst, family)
		if err != nil {
			return nil, err
		}
		r := Route{Dst: dst, Protocol: jr.Protocol}
		hops := jr.NextHops
		if len(hops) == 0 {
			hops = []jsonHop{{Gateway: jr.Gateway, Dev: jr.Dev}}
		}
		for _, h := range hops {
			nh := NextHop{Dev: h.Dev}
			if h.Gateway != "" {
				if nh.Gateway, err = netip.ParseAddr(h.Gateway); err != nil {
					return nil, fmt.Errorf("route to %s: gateway: %w", jr.Dst, err)
				}
			}
			r.NextHops = append(r.NextHops, nh)
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// parseDst parses "default", an address (a host route) or a prefix.
func parseDst(s string, family Family) (netip.Prefix, error) {
	if s == "default" {
		if family == IPv6 {
			return netip.MustParsePrefix("::/0"), nil
		}
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("route destination %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("route destination %q: %w", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

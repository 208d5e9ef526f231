package ipam

import (
	"fmt"
	"net/netip"
	"slices"
)

// Family is an IP address family.
type Family int

// The families a Service can ask for.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// Port is a port and protocol a Service exposes, the unit of clashes between
// Services that share an address.
type Port struct {
	Protocol string
	Port     int32
}

func (p Port) String() string { return fmt.Sprintf("%s/%d", p.Protocol, p.Port) }

// Request is what a Service asks of the allocator.
type Request struct {
	// Service is the holder's key, "namespace/name".
	Service   string
	Namespace string
	// Pool, when set, is the only pool the addresses may come from.
	Pool string
	// IPs are specific addresses wanted, at most one per family.
	IPs []netip.Addr
	// Current are addresses the Service's status already holds; they are
	// kept when they satisfy the request, so nothing moves a Service.
	Current []netip.Addr
	// Families are the families wanted, primary first.
	Families []Family
	// RequireAll is false for PreferDualStack: only the primary family is
	// required, the others are taken when they can be.
	RequireAll bool
	// Sharing is the allow-shared-ip key; empty means the address is the
	// Service's alone.
	Sharing string
	Ports   []Port
	// Local is externalTrafficPolicy: Local; Local Services share only with
	// Services of the same Selector, since they must land on the same nodes.
	Local    bool
	Selector string
}

// wants reports whether the request asks for family f.
func (r *Request) wants(f Family) bool { return slices.Contains(r.Families, f) }

// specific returns the specific address wanted for family f.
func (r *Request) specific(f Family) (netip.Addr, bool) {
	for _, a := range r.IPs {
		if FamilyOf(a) == f {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// current returns the status address of family f.
func (r *Request) current(f Family) (netip.Addr, bool) {
	for _, a := range r.Current {
		if FamilyOf(a) == f {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// sharer is what the allocator keeps of a holder's request: what deciding
// on sharing needs.
type sharer struct {
	Service  string
	Sharing  string
	Ports    []Port
	Local    bool
	Selector string
}

func sharerOf(r *Request) sharer {
	return sharer{Service: r.Service, Sharing: r.Sharing, Ports: r.Ports, Local: r.Local, Selector: r.Selector}
}

// shareWith returns why r may not share an address with o, or nil.
func (r *Request) shareWith(o sharer) error {
	if r.Sharing == "" || r.Sharing != o.Sharing {
		return fmt.Errorf("it is held by %s", o.Service)
	}
	if r.Local != o.Local {
		return fmt.Errorf("%s shares it with externalTrafficPolicy %s and %s asks for %s", o.Service, policy(o.Local), r.Service, policy(r.Local))
	}
	if r.Local && r.Selector != o.Selector {
		return fmt.Errorf("%s shares it with externalTrafficPolicy Local and a different selector", o.Service)
	}
	for _, p := range r.Ports {
		if slices.Contains(o.Ports, p) {
			return fmt.Errorf("port %s is already used by %s", p, o.Service)
		}
	}
	return nil
}

func policy(local bool) string {
	if local {
		return "Local"
	}
	return "Cluster"
}

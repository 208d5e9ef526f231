package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Errors that callers branch on; the concrete errors below wrap them.
var (
	// ErrExhausted means no address was free; freeing one ends the wait.
	ErrExhausted = errors.New("pool exhausted")
	// ErrInUse means a wanted address is held by another Service.
	ErrInUse = errors.New("address in use")
	// ErrNoPool means no pool can serve the request as it stands.
	ErrNoPool = errors.New("no pool")
)

// ExhaustedError says that a pool has no free address of a family.
type ExhaustedError struct {
	Pool   string
	Family Family
	// OneFamily is true when the pool has addresses of one family only, so
	// the message need not name it.
	OneFamily   bool
	InUse, Size uint64
}

func (e *ExhaustedError) Error() string {
	if e.OneFamily {
		return fmt.Sprintf("pool %q is exhausted: %d of %d addresses in use", e.Pool, e.InUse, e.Size)
	}
	return fmt.Sprintf("pool %q is exhausted: %d of %d %s addresses in use", e.Pool, e.InUse, e.Size, e.Family)
}

func (e *ExhaustedError) Unwrap() error { return ErrExhausted }

// InUseError says that an address a Service wants is held by another.
type InUseError struct {
	IP     netip.Addr
	Holder string
	// Reason says why the two cannot share, when sharing was asked for.
	Reason string
	// Status is true when the address is in the Service's own status: two
	// Services claim it.
	Status bool
}

func (e *InUseError) Error() string {
	if e.Status {
		return fmt.Sprintf("%s in this Service's status is also claimed by %s, which keeps it; floatlb gives this Service no other address on its own: ask for one with the annotation floatlb.io/load-balancer-ips, or delete and recreate the Service", e.IP, e.Holder)
	}
	if e.Reason != "" {
		return fmt.Sprintf("%s is held by %s and cannot be shared: %s", e.IP, e.Holder, e.Reason)
	}
	return fmt.Sprintf("%s is held by %s", e.IP, e.Holder)
}

func (e *InUseError) Unwrap() error { return ErrInUse }

// RemovedAddressesError refuses a pool change that would take away addresses
// that Services hold.
type RemovedAddressesError struct {
	// Held maps each address that no pool would contain any more to its holders.
	Held map[netip.Addr][]string
}

func (e *RemovedAddressesError) Error() string {
	ips := make([]netip.Addr, 0, len(e.Held))
	for ip := range e.Held {
		ips = append(ips, ip)
	}
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	var b strings.Builder
	b.WriteString("the new pools would take away addresses that Services hold: ")
	for i, ip := range ips {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", ip, strings.Join(e.Held[ip], ", "))
	}
	return b.String()
}

// Services returns the holders named by the error, sorted.
func (e *RemovedAddressesError) Services() []string {
	seen := map[string]bool{}
	var out []string
	for _, hs := range e.Held {
		for _, h := range hs {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out
}

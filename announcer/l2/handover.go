package l2

import (
	"fmt"
	"slices"
)

// Handover says why an address moved from its previous owner.
type Handover int

const (
	// FirstOwner: no previous owner is known to this observer.
	FirstOwner Handover = iota
	// PreviousExpired: the previous owner's Lease expired.
	PreviousExpired
	// PreviousReleased: the previous owner gave its Lease up.
	PreviousReleased
	// PreviousMissing: the previous owner's Lease is gone.
	PreviousMissing
	// PreviousIneligible: the previous owner may no longer announce the
	// address (not Ready, excluded, outside the pool's nodeSelector, no
	// ready local endpoint).
	PreviousIneligible
	// Rebalanced: the previous owner is still live and eligible, but a node
	// that ranks higher for the address came (back).
	Rebalanced
)

// String returns the reason as an Event says it.
func (h Handover) String() string {
	switch h {
	case FirstOwner:
		return "first owner"
	case PreviousExpired:
		return "lease expired"
	case PreviousReleased:
		return "lease released"
	case PreviousMissing:
		return "no lease"
	case PreviousIneligible:
		return "no longer eligible"
	case Rebalanced:
		return "rebalanced"
	}
	return fmt.Sprintf("Handover(%d)", int(h))
}

// Why returns why an address left prev, given the candidates for it now
// and prev's Lease state now. prev is "" when no owner was known.
func Why(prev string, candidates []string, state LeaseState) Handover {
	switch {
	case prev == "":
		return FirstOwner
	case !slices.Contains(candidates, prev):
		return PreviousIneligible
	case state == LeaseExpired:
		return PreviousExpired
	case state == LeaseReleased:
		return PreviousReleased
	case state == LeaseMissing:
		return PreviousMissing
	}
	return Rebalanced
}

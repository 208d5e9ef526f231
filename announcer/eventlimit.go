package announcer

import "time"

// The announcer's own budget of Announced and Withdrawn Events per Service:
// eventBurst at once, then one per eventEvery. It is stricter than
// client-go's event correlator (25 per source and object, then one per
// 5 minutes), so the correlator never drops one of these Events: an Event
// held back here is sent later with the state of then, and the last Event
// on a Service always names who announces it now. The correlator alone
// would not do: it drops Events (the Service's last Event then names an
// owner of the past), and it forgets a Service once eventCacheSize others
// had Events since, so a flapping node that owns more Services than that
// is not limited at all.
const (
	eventBurst = 10
	eventEvery = 5 * time.Minute
)

// eventBudget is a token bucket of eventBurst Events refilled at one per
// eventEvery, kept as the time at which it is whole again (GCRA). The zero
// value is whole.
type eventBudget struct{ whole time.Time }

// take returns the budget after one Event at now, and whether the Event
// fits in it; a budget it does not fit is returned unchanged.
func (b eventBudget) take(now time.Time) (eventBudget, bool) {
	whole := b.whole
	if whole.Before(now) {
		whole = now
	}
	if whole.Sub(now) > (eventBurst-1)*eventEvery {
		return b, false
	}
	return eventBudget{whole.Add(eventEvery)}, true
}

// spent reports whether the budget is short of whole at now: it must be
// remembered.
func (b eventBudget) spent(now time.Time) bool { return b.whole.After(now) }

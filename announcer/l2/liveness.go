package l2

import (
	"fmt"
	"time"
)

// LeaseState is what an observer knows of a node's announcer Lease.
type LeaseState int

const (
	// LeaseMissing: no Lease of the node has been seen (its announcer never
	// ran, or the Lease was deleted).
	LeaseMissing LeaseState = iota
	// LeaseLive: the Lease is held and changed within the lease duration.
	LeaseLive
	// LeaseExpired: the Lease is held but has not changed for the lease
	// duration: the announcer crashed or lost the API server.
	LeaseExpired
	// LeaseReleased: the announcer gave its Lease up (it is stopping, or
	// its interface lost carrier).
	LeaseReleased
)

// String returns the state as an Event says it: "live", "lease expired",
// "lease released", "no lease".
func (s LeaseState) String() string {
	switch s {
	case LeaseMissing:
		return "no lease"
	case LeaseLive:
		return "live"
	case LeaseExpired:
		return "lease expired"
	case LeaseReleased:
		return "lease released"
	}
	return fmt.Sprintf("LeaseState(%d)", int(s))
}

// Liveness judges which announcers are alive from the changes this
// observer sees of their Leases, by its own clock: never by the holder's
// renewTime, since the nodes' clocks need not agree. The first sight of a
// Lease counts as a change. The zero value is not usable; use NewLiveness.
// It is not safe for concurrent use.
type Liveness struct {
	duration time.Duration
	leases   map[string]sighting
}

// sighting is the last change seen of one node's Lease.
type sighting struct {
	version string
	held    bool
	changed time.Time
}

// NewLiveness returns a Liveness for Leases of the given duration.
func NewLiveness(duration time.Duration) *Liveness {
	return &Liveness{duration: duration, leases: map[string]sighting{}}
}

// SetDuration changes the lease duration (the config changed).
func (l *Liveness) SetDuration(d time.Duration) { l.duration = d }

// Observe records the Lease of node as seen at now: version is anything
// that changes with every write (the resourceVersion), held whether it
// names a holder. A version other than the last seen counts as a change.
// It reports whether node's State at now changed: the renewal of a live
// Lease, the common case, changes no owner.
func (l *Liveness) Observe(node, version string, held bool, now time.Time) bool {
	s, ok := l.leases[node]
	if ok && s.version == version && s.held == held {
		return false
	}
	before := l.State(node, now)
	l.leases[node] = sighting{version: version, held: held, changed: now}
	return l.State(node, now) != before
}

// Forget records that node's Lease is gone.
func (l *Liveness) Forget(node string) { delete(l.leases, node) }

// State returns what is known of node's Lease at now.
func (l *Liveness) State(node string, now time.Time) LeaseState {
	s, ok := l.leases[node]
	switch {
	case !ok:
		return LeaseMissing
	case !s.held:
		return LeaseReleased
	case now.Sub(s.changed) >= l.duration:
		return LeaseExpired
	}
	return LeaseLive
}

// Changed returns when node's Lease was last seen to change, or false
// when no Lease of node is known.
func (l *Liveness) Changed(node string) (time.Time, bool) {
	s, ok := l.leases[node]
	return s.changed, ok
}

// Live reports whether node's State is LeaseLive.
func (l *Liveness) Live(node string, now time.Time) bool { return l.State(node, now) == LeaseLive }

// NextExpiry returns the earliest time after now at which a Lease that is
// live at now expires, or false when none is live.
func (l *Liveness) NextExpiry(now time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for _, s := range l.leases {
		if !s.held {
			continue
		}
		at := s.changed.Add(l.duration)
		if at.After(now) && (!found || at.Before(next)) {
			next, found = at, true
		}
	}
	return next, found
}

// ExpiredSince reports whether a Lease that was live at since has expired
// by now (or one seen after since has, in which case its sighting changed
// its State too).
func (l *Liveness) ExpiredSince(since, now time.Time) bool {
	for _, s := range l.leases {
		if !s.held {
			continue
		}
		if at := s.changed.Add(l.duration); at.After(since) && !at.After(now) {
			return true
		}
	}
	return false
}

// Refresh counts every held Lease as changed at now. The caller uses it
// when its own view comes back after an outage (its watch or its renewals
// failed): nobody could renew meanwhile, and the Leases must not all look
// expired before their holders had a chance to renew.
func (l *Liveness) Refresh(now time.Time) {
	for n, s := range l.leases {
		if s.held {
			s.changed = now
			l.leases[n] = s
		}
	}
}

package config

import "time"

// Limits of the durations of the config.
const (
	// minLeaseDuration keeps an l2 announcer's lease from being renewed more
	// often than the API server can take.
	minLeaseDuration = time.Second
	// VRRPv3 (RFC 5798 section 5.2.7) carries the advertisement interval in
	// a 12-bit field of centiseconds.
	advertIntervalUnit = 10 * time.Millisecond
	maxAdvertInterval  = 4095 * advertIntervalUnit
	// BGP (RFC 4271 section 4.2) counts hold time in whole seconds, 16 bits,
	// and refuses hold times of 1s and 2s.
	minHoldTime      = 3 * time.Second
	maxHoldTime      = 65535 * time.Second
	minKeepaliveTime = time.Second
)

func validateAdvertInterval(errs *fieldErrors, path string, d Duration) {
	switch {
	case d.Duration < advertIntervalUnit:
		errs.add(path, "%q is too short; use at least %v", d.String(), advertIntervalUnit)
	case d.Duration > maxAdvertInterval:
		errs.add(path, "%q is too long; VRRPv3 allows at most %v", d.String(), maxAdvertInterval)
	case d.Duration%advertIntervalUnit != 0:
		errs.add(path, "%q is not a multiple of %v, the unit of VRRPv3", d.String(), advertIntervalUnit)
	}
}

// validateTimers checks a peer's holdTime and keepaliveTime, which
// setDefaults has filled in.
func validateTimers(errs *fieldErrors, path string, p *Peer) {
	hold, keep := p.HoldTime.Duration, p.KeepaliveTime.Duration
	holdOK := false
	switch {
	case hold < minHoldTime:
		errs.add(field(path, "holdTime"), "%q is too short; BGP allows at least %v", hold.String(), minHoldTime)
	case hold > maxHoldTime:
		errs.add(field(path, "holdTime"), "%q is too long; BGP allows at most %v", hold.String(), maxHoldTime)
	case hold%time.Second != 0:
		errs.add(field(path, "holdTime"), "%q is not a whole number of seconds, as BGP counts it", hold.String())
	default:
		holdOK = true
	}
	switch {
	case keep < minKeepaliveTime:
		errs.add(field(path, "keepaliveTime"), "%q is too short; use at least %v", keep.String(), minKeepaliveTime)
	case keep%time.Second != 0:
		errs.add(field(path, "keepaliveTime"), "%q is not a whole number of seconds, as BGP counts it", keep.String())
	case holdOK && keep >= hold:
		errs.add(field(path, "keepaliveTime"), "%q must be shorter than holdTime (%v); a third of it is usual", keep.String(), hold)
	}
}

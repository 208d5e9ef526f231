package vrrp

import (
	"errors"
	"fmt"
)

// Reasons a received advertisement is dropped. Each is a bounded string fit
// for a metric label.
const (
	ReasonMalformed   = "malformed"    // too short, count and length disagree, reserved bits
	ReasonBadVersion  = "bad-version"  // version is not 3
	ReasonBadType     = "bad-type"     // type is not 1 (advertisement)
	ReasonBadChecksum = "bad-checksum" // checksum over the pseudo-header does not match
	ReasonBadTTL      = "bad-ttl"      // TTL or hop limit is not 255
	ReasonWrongFamily = "wrong-family" // source, destination or addresses of another family
)

// ParseError is why an advertisement was refused. Callers count drops by
// Reason.
type ParseError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Detail says what exactly was wrong, for a log line.
	Detail string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid vrrp advertisement (%s): %s", e.Reason, e.Detail)
}

// Is makes errors.Is(err, &ParseError{Reason: r}) match any ParseError with
// reason r.
func (e *ParseError) Is(target error) bool {
	t, ok := target.(*ParseError)
	return ok && t.Reason == e.Reason && (t.Detail == "" || t.Detail == e.Detail)
}

func parseErr(reason, format string, args ...any) error {
	return &ParseError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Reason returns the Reason of a *ParseError in err's chain, or "" when
// there is none.
func Reason(err error) string {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}

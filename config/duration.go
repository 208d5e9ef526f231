package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written in the config as a string that
// time.ParseDuration accepts, such as "4s", "100ms" or "1m30s".
// A zero Duration means "not set": the field's default applies.
type Duration struct {
	time.Duration
}

// MarshalJSON writes d as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a string such as "4s". JSON null leaves d as it is.
// Anything else, a bare number included, is refused: a duration needs a unit.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a valid duration", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a valid duration", s)
	}
	d.Duration = v
	return nil
}

package config

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: `"4s"`, want: 4 * time.Second},
		{in: `"100ms"`, want: 100 * time.Millisecond},
		{in: `"1m30s"`, want: 90 * time.Second},
		{in: `"-1s"`, want: -time.Second},
		{in: `"0"`, want: 0},
		{in: `null`, want: 7}, // left as it was
		{in: `"4 seconds"`, wantErr: `"4 seconds" is not a valid duration`},
		{in: `""`, wantErr: `"" is not a valid duration`},
		{in: `4`, wantErr: `4 is not a valid duration`},
		{in: `{"s":4}`, wantErr: `{"s":4} is not a valid duration`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d := Duration{7}
			err := json.Unmarshal([]byte(tc.in), &d)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Unmarshal(%s) error = %v, want %s", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tc.in, err)
			}
			if d.Duration != tc.want {
				t.Errorf("Unmarshal(%s) = %v, want %v", tc.in, d.Duration, tc.want)
			}
		})
	}
}

func TestDurationMarshal(t *testing.T) {
	for _, d := range []time.Duration{0, 100 * time.Millisecond, 4 * time.Second, 90 * time.Second, 40950 * time.Millisecond} {
		b, err := json.Marshal(Duration{d})
		if err != nil {
			t.Fatalf("Marshal(%v): %v", d, err)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || back.Duration != d {
			t.Errorf("Marshal(%v) = %s, which reads back as %v, %v", d, b, back.Duration, err)
		}
	}
	if b, _ := json.Marshal(Duration{90 * time.Second}); string(b) != `"1m30s"` {
		t.Errorf("Marshal(90s) = %s, want %q", b, "1m30s")
	}
}

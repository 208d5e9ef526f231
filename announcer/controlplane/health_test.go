package controlplane

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHealth(t *testing.T) {
	type step struct{ healthy, changed bool }
	tests := []struct {
		name   string
		probes []bool
		want   []step
	}{
		{
			name:   "starts unhealthy; two successes make it healthy",
			probes: []bool{true, true, true},
			want:   []step{{false, false}, {true, true}, {true, false}},
		},
		{
			name:   "three failures in a row make it unhealthy",
			probes: []bool{true, true, false, false, false, false},
			want:   []step{{false, false}, {true, true}, {true, false}, {true, false}, {false, true}, {false, false}},
		},
		{
			name:   "a success between failures starts the count again",
			probes: []bool{true, true, false, false, true, false, false, false},
			want:   []step{{false, false}, {true, true}, {true, false}, {true, false}, {true, false}, {true, false}, {true, false}, {false, true}},
		},
		{
			name:   "a single success among failures does not make it healthy",
			probes: []bool{false, true, false, true, false},
			want:   []step{{false, false}, {false, false}, {false, false}, {false, false}, {false, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := Health{Rise: healthRise, Fall: healthFall}
			var got []step
			for _, ok := range tc.probes {
				healthy, changed := h.Observe(ok)
				got = append(got, step{healthy, changed})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

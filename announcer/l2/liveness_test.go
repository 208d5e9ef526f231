package l2

import (
	"testing"
	"time"
)

func TestLiveness(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		observe  bool // else forget
		node     string
		version  string
		released bool
		at       time.Duration
	}
	tests := []struct {
		name  string
		steps []step
		now   time.Duration
		want  LeaseState
	}{
		{name: "never seen", now: 0, want: LeaseMissing},
		{name: "first sight counts as a change", steps: []step{{observe: true, node: "n1", version: "1", at: 0}}, now: 3 * time.Second, want: LeaseLive},
		{name: "first sight of an old lease is live", steps: []step{{observe: true, node: "n1", version: "7", at: 10 * time.Second}}, now: 11 * time.Second, want: LeaseLive},
		{name: "unchanged for the duration expires", steps: []step{{observe: true, node: "n1", version: "1", at: 0}}, now: 4 * time.Second, want: LeaseExpired},
		{name: "the same version again is no change", steps: []step{
			{observe: true, node: "n1", version: "1", at: 0},
			{observe: true, node: "n1", version: "1", at: 3 * time.Second},
		}, now: 5 * time.Second, want: LeaseExpired},
		{name: "a renewal keeps it live", steps: []step{
			{observe: true, node: "n1", version: "1", at: 0},
			{observe: true, node: "n1", version: "2", at: 3 * time.Second},
		}, now: 6 * time.Second, want: LeaseLive},
		{name: "released", steps: []step{
			{observe: true, node: "n1", version: "1", at: 0},
			{observe: true, node: "n1", version: "2", released: true, at: time.Second},
		}, now: time.Second, want: LeaseReleased},
		{name: "taken again after release", steps: []step{
			{observe: true, node: "n1", version: "2", released: true, at: time.Second},
			{observe: true, node: "n1", version: "3", at: 2 * time.Second},
		}, now: 3 * time.Second, want: LeaseLive},
		{name: "deleted", steps: []step{
			{observe: true, node: "n1", version: "1", at: 0},
			{node: "n1", at: time.Second},
		}, now: time.Second, want: LeaseMissing},
		{name: "another node's lease says nothing of n1", steps: []step{
			{observe: true, node: "n2", version: "1", at: 0},
		}, now: 0, want: LeaseMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLiveness(4 * time.Second)
			for _, s := range tc.steps {
				if s.observe {
					l.Observe(s.node, s.version, !s.released, at(s.at))
				} else {
					l.Forget(s.node)
				}
			}
			if got := l.State("n1", at(tc.now)); got != tc.want {
				t.Errorf("State = %v, want %v", got, tc.want)
			}
			if got := l.Live("n1", at(tc.now)); got != (tc.want == LeaseLive) {
				t.Errorf("Live = %v with state %v", got, tc.want)
			}
		})
	}
}

func TestLivenessChanged(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := NewLiveness(4 * time.Second)
	if _, ok := l.Changed("n1"); ok {
		t.Error("Changed of an unknown lease")
	}
	l.Observe("n1", "1", true, t0)
	l.Observe("n1", "1", true, t0.Add(time.Second))
	l.Observe("n1", "2", false, t0.Add(2*time.Second))
	if got, ok := l.Changed("n1"); !ok || !got.Equal(t0.Add(2*time.Second)) {
		t.Errorf("Changed = %v, %v; want the release at t0+2s", got, ok)
	}
}

func TestLivenessRefresh(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := NewLiveness(4 * time.Second)
	l.Observe("n1", "1", true, t0)
	l.Observe("n2", "1", false, t0)
	outageOver := t0.Add(30 * time.Second)
	if l.Live("n1", outageOver) {
		t.Fatal("n1 live after 30 s without a change")
	}
	l.Refresh(outageOver)
	if !l.Live("n1", outageOver.Add(3*time.Second)) {
		t.Error("n1 not live within the duration after Refresh")
	}
	if l.Live("n1", outageOver.Add(4*time.Second)) {
		t.Error("n1 still live a whole duration after Refresh")
	}
	if got := l.State("n2", outageOver); got != LeaseReleased {
		t.Errorf("Refresh changed a released lease to %v", got)
	}
}

func TestLivenessNextExpiry(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := NewLiveness(4 * time.Second)
	if _, ok := l.NextExpiry(t0); ok {
		t.Error("NextExpiry with no leases")
	}
	l.Observe("n1", "1", true, t0)
	l.Observe("n2", "1", true, t0.Add(time.Second))
	l.Observe("n3", "1", false, t0)
	if got, ok := l.NextExpiry(t0); !ok || !got.Equal(t0.Add(4*time.Second)) {
		t.Errorf("NextExpiry = %v, %v; want n1's expiry", got, ok)
	}
	if got, ok := l.NextExpiry(t0.Add(4 * time.Second)); !ok || !got.Equal(t0.Add(5*time.Second)) {
		t.Errorf("NextExpiry after n1 expired = %v, %v; want n2's expiry", got, ok)
	}
	if _, ok := l.NextExpiry(t0.Add(5 * time.Second)); ok {
		t.Error("NextExpiry after every lease expired")
	}
}

func TestWhy(t *testing.T) {
	cands := []string{"n1", "n2"}
	tests := []struct {
		name  string
		prev  string
		cands []string
		state LeaseState
		want  Handover
	}{
		{"no previous owner", "", cands, LeaseMissing, FirstOwner},
		{"previous not eligible", "n3", cands, LeaseLive, PreviousIneligible},
		{"previous expired", "n1", cands, LeaseExpired, PreviousExpired},
		{"previous released", "n1", cands, LeaseReleased, PreviousReleased},
		{"previous lease deleted", "n1", cands, LeaseMissing, PreviousMissing},
		{"previous live: rebalanced", "n1", cands, LeaseLive, Rebalanced},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Why(tc.prev, tc.cands, tc.state); got != tc.want {
				t.Errorf("Why = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLivenessObserveReportsChanges: Observe reports a change of State,
// not every new version: renewals of a live Lease move no address.
func TestLivenessObserveReportsChanges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := NewLiveness(4 * time.Second)
	steps := []struct {
		name     string
		version  string
		released bool
		at       time.Duration
		want     bool
	}{
		{"first sight: missing → live", "1", false, 0, true},
		{"the same version again", "1", false, time.Second, false},
		{"renewal of a live lease", "2", false, time.Second, false},
		{"another renewal", "3", false, 2 * time.Second, false},
		{"renewal after it expired: expired → live", "4", false, 7 * time.Second, true},
		{"released: live → released", "5", true, 8 * time.Second, true},
		{"released again, a new version", "6", true, 9 * time.Second, false},
		{"taken again: released → live", "7", false, 10 * time.Second, true},
	}
	for _, s := range steps {
		if got := l.Observe("n1", s.version, !s.released, t0.Add(s.at)); got != s.want {
			t.Errorf("%s: Observe = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestLivenessExpiredSince(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	l := NewLiveness(4 * time.Second)
	l.Observe("n1", "1", true, at(0))               // expires at 4s
	l.Observe("n2", "1", true, at(2*time.Second))   // expires at 6s
	l.Observe("n3", "1", false, at(0))              // released: never expires
	l.Observe("n1", "2", true, at(3*time.Second))   // renewed: expires at 7s
	l.Observe("n2", "2", true, at(5*time.Second))   // renewed: expires at 9s
	l.Observe("n4", "1", true, at(-10*time.Second)) // expired before the plan
	tests := []struct {
		name       string
		since, now time.Duration
		want       bool
	}{
		{"nothing expired since the plan", 0, 6 * time.Second, false},
		{"n1 expired after the plan", 0, 7 * time.Second, true},
		{"n1 expired before the plan", 7 * time.Second, 8 * time.Second, false},
		{"n2 expired after the plan", 7 * time.Second, 9 * time.Second, true},
	}
	for _, tc := range tests {
		if got := l.ExpiredSince(at(tc.since), at(tc.now)); got != tc.want {
			t.Errorf("%s: ExpiredSince(%s, %s) = %v, want %v", tc.name, tc.since, tc.now, got, tc.want)
		}
	}
}

package announcer

import (
	"testing"
	"time"
)

func TestEventBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var b eventBudget
	now := t0
	take := func(after time.Duration, want bool) {
		t.Helper()
		now = now.Add(after)
		var ok bool
		b, ok = b.take(now)
		if ok != want {
			t.Fatalf("take at +%s = %t, want %t", now.Sub(t0), ok, want)
		}
	}
	if b.spent(now) {
		t.Fatal("the zero budget is spent")
	}
	for range eventBurst {
		take(0, true)
	}
	take(0, false) // the burst is spent
	take(eventEvery-time.Second, false)
	take(time.Second, true) // one back after eventEvery
	take(0, false)
	if !b.spent(now) {
		t.Fatal("a budget short of whole is not spent")
	}
	now = now.Add(eventBurst * eventEvery)
	if b.spent(now) {
		t.Fatalf("the budget is not whole %s after its last Event", eventBurst*eventEvery)
	}
	for range eventBurst {
		take(0, true) // whole again, and not more than whole
	}
	take(0, false)
}

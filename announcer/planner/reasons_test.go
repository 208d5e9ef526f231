package planner

import "testing"

func TestReasonStrings(t *testing.T) {
	for r, want := range map[RefusalReason]string{OutsidePools: "outside-pools", UnknownMode: "unknown-mode", 0: "RefusalReason(0)"} {
		if got := r.String(); got != want {
			t.Errorf("RefusalReason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
	for r, want := range map[NoPeerReason]string{NoPeerNone: "", NoPeerConfigured: "no-peer-configured", NoPeerForNode: "no-peer-for-node", 9: "NoPeerReason(9)"} {
		if got := r.String(); got != want {
			t.Errorf("NoPeerReason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

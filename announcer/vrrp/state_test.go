package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// at is a time since t0.
func at(d time.Duration) time.Time { return t0.Add(d) }

// step is one event given to a Machine, and the Result it must return.
type step struct {
	at   time.Duration
	ev   string // start, tick, recv, shutdown
	prio uint8  // recv: the advert's priority
	ivl  time.Duration
	src  string // recv: the sender; default 192.0.2.9
	want Result
}

const (
	s = time.Second
	// downAt100 is Master_Down_Interval at priority 100 and 1s:
	// 3s + 156/256 s.
	downAt100 = 3*s + 156*s/256
	skewAt100 = 156 * s / 256
)

func TestMachine(t *testing.T) {
	primary := "192.0.2.5"
	for _, tc := range []struct {
		name      string
		cfg       Config
		steps     []step
		wantState State
	}{{
		name: "startup: backup with Master_Down_Timer",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
		},
		wantState: Backup,
	}, {
		name: "startup: the owner is master at once",
		cfg:  Config{Priority: 255, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{Send: true, Priority: 255, From: Initialize, To: Master, Cause: CauseOwner, Deadline: at(s)}},
		},
		wantState: Master,
	}, {
		name: "start twice does nothing",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: s, ev: "start", want: Result{From: Backup, To: Backup, Deadline: at(downAt100)}},
		},
		wantState: Backup,
	}, {
		name: "initialize ignores adverts and ticks",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "recv", prio: 200, ivl: s, want: Result{}},
			{at: 10 * s, ev: "tick", want: Result{}},
			{ev: "shutdown", want: Result{}},
		},
		wantState: Initialize,
	}, {
		name: "backup: early tick does nothing, Master_Down_Timer makes master",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: 3 * s, ev: "tick", want: Result{From: Backup, To: Backup, Deadline: at(downAt100)}},
			{at: downAt100, ev: "tick", want: Result{Send: true, Priority: 100, From: Backup, To: Master, Cause: CauseMasterDown, Deadline: at(downAt100 + s)}},
		},
		wantState: Master,
	}, {
		name: "backup: priority 0 sets the timer to Skew_Time",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: s, ev: "recv", prio: 0, ivl: s, want: Result{From: Backup, To: Backup, Deadline: at(s + skewAt100)}},
			{at: s + skewAt100, ev: "tick", want: Result{Send: true, Priority: 100, From: Backup, To: Master, Cause: CauseMasterDown, Deadline: at(s + skewAt100 + s)}},
		},
		wantState: Master,
	}, {
		name: "backup: a higher master's advert resets the timer and teaches its interval",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			// 3 × 100ms + (156 × 100ms)/256
			{at: s, ev: "recv", prio: 200, ivl: 100 * time.Millisecond, want: Result{From: Backup, To: Backup, Deadline: at(s + 300*time.Millisecond + 15600*time.Millisecond/256)}},
		},
		wantState: Backup,
	}, {
		name: "backup: an equal priority advert resets the timer",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: 2 * s, ev: "recv", prio: 100, ivl: s, src: "192.0.2.1", want: Result{From: Backup, To: Backup, Deadline: at(2*s + downAt100)}},
		},
		wantState: Backup,
	}, {
		name: "backup with preemption: a lower master's advert is discarded, then preempted",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: s, ev: "recv", prio: 50, ivl: s, want: Result{From: Backup, To: Backup, Deadline: at(downAt100)}},
			{at: downAt100, ev: "tick", want: Result{Send: true, Priority: 100, From: Backup, To: Master, Cause: CauseMasterDown, Deadline: at(downAt100 + s)}},
		},
		wantState: Master,
	}, {
		name: "backup without preemption: a lower master's advert resets the timer",
		cfg:  Config{Priority: 100, AdvertInterval: s, NoPreempt: true},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: s, ev: "recv", prio: 50, ivl: s, want: Result{From: Backup, To: Backup, Deadline: at(s + downAt100)}},
		},
		wantState: Backup,
	}, {
		name: "backup: shutdown goes to initialize without an advert",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
			{at: s, ev: "shutdown", want: Result{From: Backup, To: Initialize, Cause: CauseShutdown}},
		},
		wantState: Initialize,
	}, {
		name: "master: Adver_Timer sends an advert",
		cfg:  Config{Priority: 255, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{Send: true, Priority: 255, From: Initialize, To: Master, Cause: CauseOwner, Deadline: at(s)}},
			{at: s / 2, ev: "tick", want: Result{From: Master, To: Master, Deadline: at(s)}},
			{at: s, ev: "tick", want: Result{Send: true, Priority: 255, From: Master, To: Master, Deadline: at(2 * s)}},
			// Late: the next one is an interval after now.
			{at: 5 * s, ev: "tick", want: Result{Send: true, Priority: 255, From: Master, To: Master, Deadline: at(6 * s)}},
		},
		wantState: Master,
	}, {
		name: "master: priority 0 is answered with an advert at once",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: append(toMaster(), step{at: downAt100 + s/2, ev: "recv", prio: 0, ivl: s,
			want: Result{Send: true, Priority: 100, From: Master, To: Master, Deadline: at(downAt100 + s/2 + s)}}),
		wantState: Master,
	}, {
		name: "master: a higher priority makes backup and teaches its interval",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 101, ivl: 2 * s,
			want: Result{From: Master, To: Backup, Cause: CauseHigherPriority, Deadline: at(4*s + 6*s + 2*skewAt100)}}),
		wantState: Backup,
	}, {
		name: "master: equal priority from a larger address makes backup",
		cfg:  Config{Priority: 100, AdvertInterval: s, Primary: netip.MustParseAddr(primary)},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 100, ivl: s, src: "192.0.2.6",
			want: Result{From: Master, To: Backup, Cause: CauseHigherAddress, Deadline: at(4*s + downAt100)}}),
		wantState: Backup,
	}, {
		name: "master: addresses compare as unsigned integers",
		cfg:  Config{Priority: 100, AdvertInterval: s, Primary: netip.MustParseAddr("192.0.2.127")},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 100, ivl: s, src: "192.0.2.128",
			want: Result{From: Master, To: Backup, Cause: CauseHigherAddress, Deadline: at(4*s + downAt100)}}),
		wantState: Backup,
	}, {
		name: "master: equal priority from a smaller address is discarded",
		cfg:  Config{Priority: 100, AdvertInterval: s, Primary: netip.MustParseAddr(primary)},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 100, ivl: s, src: "192.0.2.4",
			want: Result{From: Master, To: Master, Deadline: at(downAt100 + s)}}),
		wantState: Master,
	}, {
		name: "master ipv6: equal priority from a larger link-local address makes backup",
		cfg:  Config{Priority: 100, AdvertInterval: s, Primary: netip.MustParseAddr("fe80::5")},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 100, ivl: s, src: "fe80::1:0",
			want: Result{From: Master, To: Backup, Cause: CauseHigherAddress, Deadline: at(4*s + downAt100)}}),
		wantState: Backup,
	}, {
		name: "master: a lower priority is discarded",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: append(toMaster(), step{at: 4 * s, ev: "recv", prio: 99, ivl: s, src: "192.0.2.200",
			want: Result{From: Master, To: Master, Deadline: at(downAt100 + s)}}),
		wantState: Master,
	}, {
		name: "master: shutdown sends priority 0",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: append(toMaster(), step{at: 4 * s, ev: "shutdown",
			want: Result{Send: true, Priority: 0, From: Master, To: Initialize, Cause: CauseShutdown}}),
		wantState: Initialize,
	}, {
		name: "owner: adverts are discarded, even higher ones",
		cfg:  Config{Priority: 255, AdvertInterval: s},
		steps: []step{
			{ev: "start", want: Result{Send: true, Priority: 255, From: Initialize, To: Master, Cause: CauseOwner, Deadline: at(s)}},
			{at: s / 2, ev: "recv", prio: 255, ivl: s, src: "192.0.2.255", want: Result{From: Master, To: Master, Deadline: at(s)}},
		},
		wantState: Master,
	}, {
		name: "restart after shutdown",
		cfg:  Config{Priority: 100, AdvertInterval: s},
		steps: append(toMaster(),
			step{at: 4 * s, ev: "shutdown", want: Result{Send: true, From: Master, To: Initialize, Cause: CauseShutdown}},
			step{at: 5 * s, ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(5*s + downAt100)}},
		),
		wantState: Backup,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMachine(tc.cfg)
			for i, st := range tc.steps {
				var got Result
				switch st.ev {
				case "start":
					got = m.Start(at(st.at))
				case "tick":
					got = m.Tick(at(st.at))
				case "shutdown":
					got = m.Shutdown(at(st.at))
				case "recv":
					src := st.src
					if src == "" {
						src = "192.0.2.9"
					}
					got = m.Receive(at(st.at), Advert{VRID: 1, Priority: st.prio, MaxAdvertInterval: st.ivl}, netip.MustParseAddr(src))
				default:
					t.Fatalf("unknown event %q", st.ev)
				}
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Fatalf("step %d (%s at %s) (-want +got):\n%s", i, st.ev, st.at, diff)
				}
			}
			if got := m.State(); got != tc.wantState {
				t.Errorf("State() = %s, want %s", got, tc.wantState)
			}
		})
	}
}

// toMaster brings a priority 100, 1s machine to Master.
func toMaster() []step {
	return []step{
		{ev: "start", want: Result{From: Initialize, To: Backup, Cause: CauseStartup, Deadline: at(downAt100)}},
		{at: downAt100, ev: "tick", want: Result{Send: true, Priority: 100, From: Backup, To: Master, Cause: CauseMasterDown, Deadline: at(downAt100 + s)}},
	}
}

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		prio     uint8
		interval time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		{prio: 250, interval: s, skew: 6 * s / 256, down: 3*s + 6*s/256},
		{prio: 1, interval: s, skew: 255 * s / 256, down: 3*s + 255*s/256},
		{prio: 100, interval: 100 * time.Millisecond, skew: 60937500, down: 360937500},
		{prio: 254, interval: 10 * time.Millisecond, skew: 78125, down: 30078125},
	} {
		m := NewMachine(Config{Priority: tc.prio, AdvertInterval: tc.interval})
		m.Start(t0)
		if got := m.SkewTime(); got != tc.skew {
			t.Errorf("priority %d, %s: SkewTime = %s, want %s", tc.prio, tc.interval, got, tc.skew)
		}
		if got := m.MasterDownInterval(); got != tc.down {
			t.Errorf("priority %d, %s: MasterDownInterval = %s, want %s", tc.prio, tc.interval, got, tc.down)
		}
	}
}

func TestStateStrings(t *testing.T) {
	got := []string{Initialize.String(), Backup.String(), Master.String(), State(9).String(),
		CauseStartup.String(), CauseOwner.String(), CauseMasterDown.String(), CauseHigherPriority.String(),
		CauseHigherAddress.String(), CauseShutdown.String(), CauseNone.String()}
	want := []string{"initialize", "backup", "master", "State(9)",
		"startup", "owner", "master-down", "higher-priority", "higher-address", "shutdown", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

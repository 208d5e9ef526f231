package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is the state of a virtual router (RFC 5798 §6.4).
type State uint8

const (
	Initialize State = iota
	Backup
	Master
)

// String returns "initialize", "backup" or "master".
func (s State) String() string {
	switch s {
	case Initialize:
		return "initialize"
	case Backup:
		return "backup"
	case Master:
		return "master"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Cause says why a virtual router changed state.
type Cause uint8

const (
	CauseNone Cause = iota
	// CauseStartup: Initialize → Backup on start.
	CauseStartup
	// CauseOwner: Initialize → Master on start, as the address owner
	// (priority 255).
	CauseOwner
	// CauseMasterDown: Backup → Master, no advert for
	// Master_Down_Interval (or Skew_Time after the master's priority 0).
	CauseMasterDown
	// CauseHigherPriority: Master → Backup, an advert with a higher
	// priority arrived.
	CauseHigherPriority
	// CauseHigherAddress: Master → Backup, an advert with our priority
	// from a larger primary address arrived.
	CauseHigherAddress
	// CauseShutdown: → Initialize on shutdown.
	CauseShutdown
)

// String returns the cause in kebab case, fit for a metric label.
func (c Cause) String() string {
	switch c {
	case CauseNone:
		return ""
	case CauseStartup:
		return "startup"
	case CauseOwner:
		return "owner"
	case CauseMasterDown:
		return "master-down"
	case CauseHigherPriority:
		return "higher-priority"
	case CauseHigherAddress:
		return "higher-address"
	case CauseShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}

// OwnerPriority is the priority of the router that owns the virtual
// addresses (RFC 5798 §5.2.4).
const OwnerPriority = 255

// Config is what a Machine needs of its virtual router.
type Config struct {
	// Priority is 1..255; 255 is the address owner, which becomes master
	// at once and ignores adverts.
	Priority uint8
	// AdvertInterval is Advertisement_Interval, what this router sends
	// as master.
	AdvertInterval time.Duration
	// NoPreempt turns Preempt_Mode off: a backup then accepts a master of
	// lower priority. RFC 5798 preempts by default.
	NoPreempt bool
	// Primary is this router's primary address on the interface (IPv4) or
	// its link-local address (IPv6). Of two masters with the same
	// priority, the one with the larger primary address stays master.
	Primary netip.Addr
}

// Machine is the state machine of one virtual router (RFC 5798 §6.4). It
// reads no clock and starts no goroutine: every method takes the current
// time and returns what to do, including when to call Tick next. The zero
// Machine is unusable; make one with NewMachine.
type Machine struct {
	cfg                 Config
	state               State
	masterAdverInterval time.Duration
	// timer is Master_Down_Timer in Backup and Adver_Timer in Master.
	timer time.Time
}

// Result is what a Machine asks of its caller.
type Result struct {
	// Send: send an advert now, with Priority (0 on shutdown).
	Send     bool
	Priority uint8
	// From and To are the states before and after; they differ on a
	// transition, which Cause explains.
	From, To State
	Cause    Cause
	// Deadline is when Tick must be called next; zero in Initialize.
	Deadline time.Time
}

// Changed reports whether the state changed.
func (r Result) Changed() bool { return r.From != r.To }

// BecameMaster reports a transition to Master: add the virtual addresses
// and send gratuitous ARP or unsolicited neighbor advertisements.
func (r Result) BecameMaster() bool { return r.From != Master && r.To == Master }

// LeftMaster reports a transition out of Master: remove the virtual
// addresses.
func (r Result) LeftMaster() bool { return r.From == Master && r.To != Master }

// NewMachine returns a Machine in Initialize. An AdvertInterval below 10ms
// is taken as 10ms, the smallest the protocol carries.
func NewMachine(cfg Config) Machine {
	if cfg.AdvertInterval < centisecond {
		cfg.AdvertInterval = centisecond
	}
	return Machine{cfg: cfg}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Config returns the machine's configuration.
func (m *Machine) Config() Config { return m.cfg }

// MasterAdvertInterval is Master_Adver_Interval: the master's advert
// interval as last learned in Backup.
func (m *Machine) MasterAdvertInterval() time.Duration { return m.masterAdverInterval }

// SkewTime is ((256 - Priority) * Master_Adver_Interval) / 256.
func (m *Machine) SkewTime() time.Duration {
	return time.Duration(256-int64(m.cfg.Priority)) * m.masterAdverInterval / 256
}

// MasterDownInterval is 3 * Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	return 3*m.masterAdverInterval + m.SkewTime()
}

// Start handles the Startup event in Initialize (§6.4.1): the owner
// becomes master at once, any other router backup. In another state it
// does nothing.
func (m *Machine) Start(now time.Time) Result {
	r := m.result()
	if m.state != Initialize {
		return m.done(r, CauseNone)
	}
	m.masterAdverInterval = m.cfg.AdvertInterval
	if m.cfg.Priority == OwnerPriority {
		return m.becomeMaster(now, r, CauseOwner)
	}
	m.state = Backup
	m.timer = now.Add(m.MasterDownInterval())
	return m.done(r, CauseStartup)
}

// Tick fires the timer that is due at now: Master_Down_Timer in Backup
// (become master), Adver_Timer in Master (send an advert).
func (m *Machine) Tick(now time.Time) Result {
	r := m.result()
	if m.state == Initialize || now.Before(m.timer) {
		return m.done(r, CauseNone)
	}
	if m.state == Backup {
		return m.becomeMaster(now, r, CauseMasterDown)
	}
	r.Send, r.Priority = true, m.cfg.Priority
	m.timer = now.Add(m.cfg.AdvertInterval)
	return m.done(r, CauseNone)
}

// Receive handles an advert for this virtual router from src, the
// source address of its IP header (§6.4.2, §6.4.3). The caller has checked
// TTL, version, checksum and VRID. The owner and a router in Initialize
// discard every advert.
func (m *Machine) Receive(now time.Time, a Advert, src netip.Addr) Result {
	r := m.result()
	if m.cfg.Priority == OwnerPriority {
		return m.done(r, CauseNone)
	}
	switch m.state {
	case Backup:
		switch {
		case a.Priority == 0:
			m.timer = now.Add(m.SkewTime())
		case m.cfg.NoPreempt || a.Priority >= m.cfg.Priority:
			m.learn(a)
			m.timer = now.Add(m.MasterDownInterval())
		}
		// Else preempt: discard, and take over when the timer fires.
	case Master:
		switch {
		case a.Priority == 0:
			r.Send, r.Priority = true, m.cfg.Priority
			m.timer = now.Add(m.cfg.AdvertInterval)
		case a.Priority > m.cfg.Priority:
			return m.becomeBackup(now, r, a, CauseHigherPriority)
		case a.Priority == m.cfg.Priority && src.Unmap().Compare(m.cfg.Primary.Unmap()) > 0:
			return m.becomeBackup(now, r, a, CauseHigherAddress)
		}
	}
	return m.done(r, CauseNone)
}

// Shutdown handles the Shutdown event (§6.4.2, §6.4.3): a master sends an
// advert with priority 0 so that a backup takes over after Skew_Time; both
// go to Initialize.
func (m *Machine) Shutdown(now time.Time) Result {
	r := m.result()
	if m.state == Initialize {
		return r
	}
	if m.state == Master {
		r.Send, r.Priority = true, 0
	}
	m.state = Initialize
	m.timer = time.Time{}
	return m.done(r, CauseShutdown)
}

func (m *Machine) becomeMaster(now time.Time, r Result, c Cause) Result {
	m.state = Master
	r.Send, r.Priority = true, m.cfg.Priority
	m.timer = now.Add(m.cfg.AdvertInterval)
	return m.done(r, c)
}

func (m *Machine) becomeBackup(now time.Time, r Result, a Advert, c Cause) Result {
	m.state = Backup
	m.learn(a)
	m.timer = now.Add(m.MasterDownInterval())
	return m.done(r, c)
}

// learn sets Master_Adver_Interval from an advert; Skew_Time and
// Master_Down_Interval follow from it.
func (m *Machine) learn(a Advert) {
	m.masterAdverInterval = max(a.MaxAdvertInterval, centisecond)
}

func (m *Machine) result() Result { return Result{From: m.state, To: m.state} }

func (m *Machine) done(r Result, c Cause) Result {
	r.To = m.state
	if r.Changed() {
		r.Cause = c
	}
	r.Deadline = m.timer
	return r
}

package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// stateDir holds one state file per live lab and the lock that serializes
// claiming prefixes and management subnets.
const stateDir = "/run/floatlb-lab"

// state is what /run/floatlb-lab/<prefix>.json records about a lab, so that
// CleanupStale can remove it once its owner is gone.
type state struct {
	Prefix string       `json:"prefix"`
	Mgmt   netip.Prefix `json:"mgmt"`
	// PID and PIDStart (the start time in /proc/PID/stat, in clock ticks
	// since boot) identify the owning process, also across PID reuse.
	PID      int    `json:"pid"`
	PIDStart uint64 `json:"pidStart"`
	// Dir is the lab's directory if the lab created it (and so removes it).
	Dir string `json:"dir,omitempty"`
}

func statePath(prefix string) string { return filepath.Join(stateDir, prefix+".json") }

// alive reports whether the process that made the lab still runs.
func (s state) alive() bool {
	start, err := procStart(s.PID)
	return err == nil && start == s.PIDStart
}

// procStart returns the start time of process pid (field 22 of
// /proc/PID/stat).
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	fields := strings.Fields(rest) // fields[0] is field 3
	if len(fields) < 20 {
		return 0, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// lockState takes the lock on the state directory and returns its release.
// The lock file goes when the last lab does (tidyStateDir), so a lock taken
// on a file that meanwhile left its path is dropped and taken again.
func lockState() (func(), error) {
	path := filepath.Join(stateDir, "mgmt.lock")
	for {
		if err := os.MkdirAll(stateDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", stateDir, err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() { f.Close() }, nil // closing drops the lock
		}
		f.Close()
	}
}

// tidyStateDir removes the lock file and the state directory once no lab
// has a state file. Call with the lock held.
func tidyStateDir() error {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stateDir, err)
	}
	for _, e := range entries {
		if e.Name() != "mgmt.lock" {
			return nil
		}
	}
	if err := os.Remove(filepath.Join(stateDir, "mgmt.lock")); err != nil {
		return fmt.Errorf("removing the lab lock: %w", err)
	}
	if err := os.Remove(stateDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", stateDir, err)
	}
	return nil
}

// readStates returns the state of every lab that has a state file.
func readStates() ([]state, error) {
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", stateDir, err)
	}
	var states []state
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		path := filepath.Join(stateDir, e.Name())
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var s state
		if err := json.Unmarshal(b, &s); err != nil || s.Prefix+".json" != e.Name() {
			return nil, fmt.Errorf("%s is not a lab state file (remove it if no lab runs): %v", path, err)
		}
		states = append(states, s)
	}
	return states, nil
}

// claim picks the lab's prefix (want, or a random one), the first free /28
// of 203.0.113.0/24 for the management bridge and, if ownDir, the lab's
// directory in the temporary directory (not created yet), and records them
// with this process as owner, all under the lock.
func claim(want string, ownDir bool) (s state, err error) {
	unlock, err := lockState()
	if err != nil {
		return state{}, err
	}
	defer unlock()
	defer func() {
		if err != nil {
			err = errors.Join(err, tidyStateDir())
		}
	}()
	states, err := readStates()
	if err != nil {
		return state{}, err
	}

	prefix := want
	for attempt := 0; ; attempt++ {
		if prefix == "" {
			if prefix, err = randomPrefix(); err != nil {
				return state{}, err
			}
		}
		inUse, err := prefixInUse(prefix, states)
		if err != nil {
			return state{}, err
		}
		if !inUse {
			break
		}
		if want != "" {
			return state{}, fmt.Errorf("lab prefix %s is in use by a live lab or by existing namespaces, links or files", want)
		}
		if attempt == 10 {
			return state{}, errors.New("picking a lab prefix: every one tried is in use")
		}
		prefix = ""
	}

	mgmt, err := freeMgmtPrefix(states)
	if err != nil {
		return state{}, err
	}
	start, err := procStart(os.Getpid())
	if err != nil {
		return state{}, fmt.Errorf("reading this process's start time: %w", err)
	}
	s = state{Prefix: prefix, Mgmt: mgmt, PID: os.Getpid(), PIDStart: start}
	if ownDir {
		s.Dir = labDir(prefix)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return state{}, err
	}
	tmp := statePath(prefix) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return state{}, fmt.Errorf("writing the lab state: %w", err)
	}
	if err := os.Rename(tmp, statePath(prefix)); err != nil {
		return state{}, fmt.Errorf("writing the lab state: %w", err)
	}
	return s, nil
}

// labDir is the directory a lab without Options.Dir keeps its files in.
func labDir(prefix string) string {
	return filepath.Join(os.TempDir(), "floatlb-lab-"+prefix)
}

// prefixInUse reports whether a lab's state file, a namespace, a link or
// a lab directory already uses prefix.
func prefixInUse(prefix string, states []state) (bool, error) {
	for _, s := range states {
		if s.Prefix == prefix {
			return true, nil
		}
	}
	if _, err := os.Lstat(labDir(prefix)); err == nil {
		return true, nil
	}
	nss, links, err := leftovers(prefix)
	return len(nss)+len(links) > 0, err
}

// freeMgmtPrefix returns the first /28 of 203.0.113.0/24 that no interface
// of this namespace has an address in (or a subnet overlapping it) and no
// live lab claims.
func freeMgmtPrefix(states []state) (netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("listing this namespace's addresses: %w", err)
	}
	var taken []netip.Prefix
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		bits, _ := ipn.Mask.Size()
		taken = append(taken, netip.PrefixFrom(ip.Unmap(), bits).Masked())
	}
	for _, s := range states {
		if s.alive() {
			taken = append(taken, s.Mgmt)
		}
	}
	for i := 0; i < 16; i++ {
		candidate := netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(16 * i)}), 28)
		free := true
		for _, t := range taken {
			if t.Overlaps(candidate) {
				free = false
				break
			}
		}
		if free {
			return candidate, nil
		}
	}
	return netip.Prefix{}, errors.New("no free /28 in 203.0.113.0/24 for the management bridge: every one is claimed by a live lab or overlaps an address of the root namespace")
}

// release removes the lab's state file, and the state directory with the
// last lab.
func release(prefix string) error {
	unlock, err := lockState()
	if err != nil {
		return err
	}
	defer unlock()
	return releaseLocked(prefix)
}

// releaseLocked is release with the lock held.
func releaseLocked(prefix string) error {
	if err := os.Remove(statePath(prefix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the lab state: %w", err)
	}
	return tidyStateDir()
}

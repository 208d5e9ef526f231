package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CleanupStale removes what labs left behind whose owning process is gone
// (a SIGKILL, a test -timeout, a crash): processes still running in their
// namespaces, the namespaces, their links in this namespace, their
// directories and state files. Labs of live processes are not touched. It
// returns the prefixes of the labs it removed. Start calls it.
func CleanupStale(ctx context.Context) ([]string, error) {
	if _, err := os.Stat(stateDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockState()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Half-written state files: claims write them under the lock we hold.
	tmps, _ := filepath.Glob(filepath.Join(stateDir, "*.json.tmp"))
	for _, tmp := range tmps {
		_ = os.Remove(tmp)
	}
	states, err := readStates()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	var ip string
	for _, s := range states {
		if s.alive() {
			continue
		}
		if ip == "" {
			if ip, err = lookPath("ip"); err != nil {
				return nil, err
			}
		}
		if err := removeByPrefix(ctx, ip, s.Prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.Dir != "" {
			if err := os.RemoveAll(s.Dir); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", s.Dir, err))
				continue
			}
		}
		if err := releaseLocked(s.Prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, s.Prefix)
	}
	if len(states) == 0 {
		errs = append(errs, tidyStateDir())
	}
	return removed, errors.Join(errs...)
}

// leftovers returns the namespaces and the links of this namespace whose
// names start with prefix and "-".
func leftovers(prefix string) (namespaces, links []string, err error) {
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("listing network namespaces: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			namespaces = append(namespaces, e.Name())
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("listing links: %w", err)
	}
	for _, ifi := range ifs {
		if strings.HasPrefix(ifi.Name, prefix+"-") {
			links = append(links, ifi.Name)
		}
	}
	return namespaces, links, nil
}

// removeByPrefix kills what still runs in the namespaces of lab prefix,
// deletes the lab's links in this namespace (the management bridge and the
// veth ends, which takes their peers in the node namespaces along), then
// the namespaces, and checks that nothing is left. The links go first:
// deleting a namespace frees its links asynchronously, a veth end in this
// namespace only some time later.
func removeByPrefix(ctx context.Context, ip, prefix string) error {
	namespaces, links, err := leftovers(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range namespaces {
		errs = append(errs, killAllIn(ctx, ip, ns))
	}
	for _, link := range links {
		if _, err := run(ctx, ip, "link", "delete", "dev", link); err != nil {
			if _, gone := net.InterfaceByName(link); gone != nil {
				continue // gone meanwhile: a veth whose peer was deleted
			}
			errs = append(errs, err)
		}
	}
	for _, ns := range namespaces {
		if _, err := run(ctx, ip, "netns", "delete", ns); err != nil {
			errs = append(errs, err)
		}
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		nss, links, err := leftovers(prefix)
		if err != nil {
			return err
		}
		if len(nss)+len(links) == 0 {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("still there after deleting them: namespaces %v, links %v", nss, links))
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.Join(errs...)
}

// killAllIn SIGKILLs every process in namespace ns and waits (up to 5s) for
// them to go. These are processes the lab started, or that were started in
// its namespaces, and outlived their owner; a namespace deleted with a
// process still in it would live on with its links.
func killAllIn(ctx context.Context, ip, ns string) error {
	pids, err := netnsPIDs(ctx, ip, ns)
	if err != nil || len(pids) == 0 {
		return err
	}
	for _, pid := range pids {
		if pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("killing process %d in namespace %s: %w", pid, ns, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, err := netnsPIDs(ctx, ip, ns)
		if err != nil || len(left) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in namespace %s outlived SIGKILL", left, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// netnsPIDs lists the processes in namespace ns (`ip netns pids`).
func netnsPIDs(ctx context.Context, ip, ns string) ([]int, error) {
	out, err := run(ctx, ip, "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("ip netns pids %s: unexpected output %q", ns, out)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

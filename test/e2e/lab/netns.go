package lab

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns add` mounts the namespaces it names.
const netnsDir = "/run/netns"

// inNamespace runs fn on an OS thread that has joined the network namespace
// ns ("" is the caller's). Sockets that fn opens stay in ns after it
// returns, and /proc/sys/net shows ns's settings while it runs. The thread
// goes back to the pool only once it is back in its own namespace; if it
// cannot get back, it ends with its goroutine.
func inNamespace(ns string, fn func() error) error {
	if ns == "" {
		return fn()
	}
	target, err := os.Open(filepath.Join(netnsDir, ns))
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", ns, err)
	}
	defer target.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("opening this thread's network namespace: %w", err)
			return
		}
		defer own.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering network namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread dies with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("leaving network namespace %s: %w", ns, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// setSysctls writes settings (paths below /proc/sys) in network namespace
// ns ("" is the caller's), in sorted order.
func setSysctls(ns string, settings map[string]string) error {
	keys := slices.Sorted(maps.Keys(settings))
	return inNamespace(ns, func() error {
		for _, k := range keys {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(settings[k]), 0o644); err != nil {
				where := ns
				if where == "" {
					where = "the root namespace"
				}
				return fmt.Errorf("setting %s to %s in %s: %w", k, settings[k], where, err)
			}
		}
		return nil
	})
}

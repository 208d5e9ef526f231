// Package signalguard tears down what a test helper started when the test
// binary gets SIGINT or SIGTERM, then raises the signal again so that it
// ends the process as usual (the testing package's cleanups do not run
// then). Several guards can watch at once: the signal ends the process only
// once the last of them has finished and stopped watching.
package signalguard

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Guard watches for SIGINT and SIGTERM around one start.
type Guard struct {
	sigs      chan os.Signal
	teardown  chan func() // receives the teardown once the start returned
	done      chan struct{}
	exited    chan struct{}
	onceStart sync.Once
	onceDone  sync.Once
}

// Watch starts watching for signals; cancelStart aborts a start in progress.
func Watch(cancelStart context.CancelFunc) *Guard {
	g := &Guard{
		sigs:     make(chan os.Signal, 1),
		teardown: make(chan func(), 1),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	// A signal ignored by whoever started us (bash does that to SIGINT for
	// background jobs) stays ignored: it would not have ended the process.
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(sig) {
			signal.Notify(g.sigs, sig)
		}
	}
	go g.run(cancelStart)
	return g
}

func (g *Guard) run(cancelStart context.CancelFunc) {
	defer close(g.exited)
	defer signal.Stop(g.sigs)
	var sig os.Signal
	select {
	case <-g.done:
		return
	case sig = <-g.sigs:
	}
	cancelStart()
	if teardown := <-g.teardown; teardown != nil { // a cancelled start undoes itself
		teardown()
	}
	signal.Stop(g.sigs)
	if s, ok := sig.(syscall.Signal); ok {
		// With no other handler left, the default action ends the process.
		_ = syscall.Kill(os.Getpid(), s)
	}
}

// Started hands the guard what to run on a signal once the start returned
// (nil when there is nothing to tear down).
func (g *Guard) Started(teardown func()) {
	g.onceStart.Do(func() { g.teardown <- teardown })
}

// Release stops watching for signals. If a signal is being handled, it
// waits for that to finish.
func (g *Guard) Release() {
	g.onceDone.Do(func() { close(g.done) })
	<-g.exited
}

package lab

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// signalGuard closes a Lab when the process gets SIGINT or SIGTERM and then
// raises the signal again, so that it ends the process as usual. Several
// guards (and kubeenv's) can watch at once: the signal ends the process only
// once the last of them has finished and stopped watching.
type signalGuard struct {
	sigs      chan os.Signal
	labc      chan *Lab // receives the Lab (or nil) once Start returned
	done      chan struct{}
	exited    chan struct{}
	onceStart sync.Once
	onceDone  sync.Once
}

// guardSignals starts watching for signals; cancelStart aborts a Start in
// progress.
func guardSignals(cancelStart context.CancelFunc) *signalGuard {
	g := &signalGuard{
		sigs:   make(chan os.Signal, 1),
		labc:   make(chan *Lab, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
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

func (g *signalGuard) run(cancelStart context.CancelFunc) {
	defer close(g.exited)
	defer signal.Stop(g.sigs)
	var sig os.Signal
	select {
	case <-g.done:
		return
	case sig = <-g.sigs:
	}
	cancelStart()
	if l := <-g.labc; l != nil { // Start tears down what it built when cancelled
		_ = l.Close()
	}
	signal.Stop(g.sigs)
	if s, ok := sig.(syscall.Signal); ok {
		// With no other handler left, the default action ends the process.
		_ = syscall.Kill(os.Getpid(), s)
	}
}

// started hands the guard the Lab that Start returned (nil on error).
func (g *signalGuard) started(l *Lab) {
	g.onceStart.Do(func() { g.labc <- l })
}

// release stops watching for signals. If a signal is being handled, it
// waits for that to finish.
func (g *signalGuard) release() {
	g.onceDone.Do(func() { close(g.done) })
	<-g.exited
}

package kubeenv

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartT starts an Env for a test and stops it in t.Cleanup, also when the
// test fails. When the test binary gets SIGINT (Ctrl-C) or SIGTERM first,
// it stops the processes and then lets the signal end the binary as it would
// have. If the binary dies without any of that (a panic, a -timeout, SIGKILL),
// the kernel kills the children (Linux).
//
// Without the binaries it skips the test and says how to build them; with
// FLOATLB_REQUIRE_APISERVER=1 it fails the test instead. Dir defaults to
// t.TempDir(); when the test fails, the last lines of both logs go to the
// test log.
func StartT(t testing.TB, opts Options) *Env {
	t.Helper()
	tempDir := ""
	if opts.Dir == "" {
		tempDir = t.TempDir()
		opts.Dir = tempDir
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guard := guardSignals(cancel, tempDir)

	began := time.Now()
	env, err := Start(ctx, opts)
	guard.started(env)
	if err != nil {
		guard.release()
		if errors.Is(err, ErrBinariesMissing) && os.Getenv("FLOATLB_REQUIRE_APISERVER") != "1" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("starting etcd and kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver %s ready at %s after %s; logs in %s", KubernetesVersion, env.URL, time.Since(began).Round(time.Millisecond), env.Dir)

	t.Cleanup(func() {
		guard.release()
		if t.Failed() {
			t.Logf("the test failed; %s", env.logTails(20))
		}
		if err := env.Stop(); err != nil {
			t.Errorf("stopping etcd and kube-apiserver: %v", err)
		}
	})
	return env
}

// signalGuard stops an Env when the process gets SIGINT or SIGTERM and then
// raises the signal again, so that it ends the process as usual.
type signalGuard struct {
	sigs      chan os.Signal
	envc      chan *Env // receives the Env (or nil) once Start returned
	done      chan struct{}
	exited    chan struct{}
	onceStart sync.Once
	onceDone  sync.Once
}

// guardSignals starts watching for signals; cancelStart aborts a Start in
// progress. tempDir, if not empty, is removed after a signal: the testing
// package's own cleanup will not run then, and etcd's data is sizeable.
func guardSignals(cancelStart context.CancelFunc, tempDir string) *signalGuard {
	g := &signalGuard{
		sigs:   make(chan os.Signal, 1),
		envc:   make(chan *Env, 1),
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
	go g.run(cancelStart, tempDir)
	return g
}

func (g *signalGuard) run(cancelStart context.CancelFunc, tempDir string) {
	defer close(g.exited)
	defer signal.Stop(g.sigs)
	var sig os.Signal
	select {
	case <-g.done:
		return
	case sig = <-g.sigs:
	}
	cancelStart()
	if env := <-g.envc; env != nil { // Start stops what it began when cancelled
		_ = env.Stop()
	}
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
	signal.Stop(g.sigs)
	if s, ok := sig.(syscall.Signal); ok {
		// With no other handler left, the default action ends the process.
		_ = syscall.Kill(os.Getpid(), s)
	}
}

// started hands the guard the Env that Start returned (nil on error).
func (g *signalGuard) started(env *Env) {
	g.onceStart.Do(func() { g.envc <- env })
}

// release stops watching for signals. If a signal is being handled, it
// waits for that to finish.
func (g *signalGuard) release() {
	g.onceDone.Do(func() { close(g.done) })
	<-g.exited
}

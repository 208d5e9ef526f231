package kubeenv

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/internal/signalguard"
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
	guard := signalguard.Watch(cancel)

	began := time.Now()
	env, err := Start(ctx, opts)
	// On a signal: stop what started (a cancelled Start stops itself) and
	// remove the temp dir, which the testing package's cleanup will not.
	guard.Started(func() {
		if env != nil {
			_ = env.Stop()
		}
		if tempDir != "" {
			_ = os.RemoveAll(tempDir)
		}
	})
	if err != nil {
		guard.Release()
		if errors.Is(err, ErrBinariesMissing) && os.Getenv("FLOATLB_REQUIRE_APISERVER") != "1" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("starting etcd and kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver %s ready at %s after %s; logs in %s", KubernetesVersion, env.URL, time.Since(began).Round(time.Millisecond), env.Dir)

	t.Cleanup(func() {
		guard.Release()
		if t.Failed() {
			t.Logf("the test failed; %s", env.logTails(20))
		}
		if err := env.Stop(); err != nil {
			t.Errorf("stopping etcd and kube-apiserver: %v", err)
		}
	})
	return env
}

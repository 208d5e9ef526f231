package lab

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/floatlb/floatlb/test/internal/signalguard"
)

// requireEnv, set to 1 (as in CI), turns the skips of New and Require into
// failures.
const requireEnv = "FLOATLB_REQUIRE_E2E"

// New builds a lab for a test and tears it down in t.Cleanup, also when the
// test fails or panics. When the test binary gets SIGINT or SIGTERM first,
// it tears the lab down and then lets the signal end the binary as it would
// have. What a SIGKILL or a -timeout leaves behind, the next New or Start
// removes (CleanupStale).
//
// Without root or the ip command it skips the test, saying what is
// missing; with FLOATLB_REQUIRE_E2E=1 it fails the test instead. When the
// test fails, the last lines of every process log go to the test log (the
// default Dir goes with the lab, so that a crash leaves no files behind).
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if _, err := checkPrerequisites(); err != nil {
		skipOrFail(t, err)
	}
	if removed, err := CleanupStale(t.Context()); err != nil {
		t.Fatalf("removing what earlier labs left: %v", err)
	} else if len(removed) > 0 {
		t.Logf("removed the leftovers of labs %v, whose processes are gone", removed)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	guard := signalguard.Watch(cancel)
	l, err := Start(ctx, opts)
	guard.Started(func() {
		if l != nil {
			_ = l.Close()
		}
	})
	if err != nil {
		guard.Release()
		if errors.Is(err, ErrPrerequisite) {
			skipOrFail(t, err)
		}
		t.Fatalf("starting the network lab: %v", err)
	}
	t.Logf("network lab %s: management bridge %s on %s, logs in %s", l.prefix, l.MgmtAddr(), l.mgmt, l.dir)

	t.Cleanup(func() {
		guard.Release()
		if t.Failed() {
			t.Logf("the test failed; %s", l.logTails(20))
		}
		if err := l.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return l
}

// Require skips the test (or fails it, with FLOATLB_REQUIRE_E2E=1) unless
// every command is installed, naming the Debian packages that are missing.
func Require(t testing.TB, commands ...string) {
	t.Helper()
	var errs []error
	for _, c := range commands {
		if _, err := lookPath(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		skipOrFail(t, err)
	}
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%v (%s=1: not skipping)", err, requireEnv)
	}
	t.Skipf("skipping: %v (%s=1 makes this a failure)", err, requireEnv)
}

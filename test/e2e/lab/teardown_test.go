package lab_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

// helperEnv tells the test binary, run again by TestTeardown, to build a lab
// in TestTeardownHelper and end in the way the variable names.
const helperEnv = "FLOATLB_LAB_TEARDOWN_HELPER"

// TestClose checks that Close leaves nothing behind and can be repeated.
func TestClose(t *testing.T) {
	var l *lab.Lab
	var pids []int
	t.Run("lab", func(t *testing.T) {
		l = lab.New(t, lab.Options{Nodes: 1})
		p, err := l.StartProcess(l.Nodes()[0], "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p.PID())
		if _, err := l.StartHTTP(l.Nodes()[0]); err != nil {
			t.Fatal(err)
		}
		// Started without StartProcess: Close must kill it too, or the
		// namespace would outlive its deletion.
		stray := l.Command(l.Client(), "sleep", "600")
		if err := stray.Start(); err != nil {
			t.Fatal(err)
		}
		go stray.Wait()
		pids = append(pids, stray.Process.Pid)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := l.StartProcess(l.Nodes()[0], "true"); err == nil {
			t.Error("StartProcess after Close succeeded")
		}
	})
	if l != nil {
		checkNothingLeft(t, l.Prefix(), l.Dir(), pids)
	}
}

// TestTeardown runs the test binary again to build a lab and then fail,
// panic, get SIGTERM or get SIGKILL, and checks that nothing of the lab is
// left afterwards (after a SIGKILL, once CleanupStale ran).
func TestTeardown(t *testing.T) {
	// This lab skips the test as every lab test does, and must survive
	// CleanupStale: its owner is alive.
	own := lab.New(t, lab.Options{Nodes: 1})
	defer func() {
		if _, err := os.Stat(filepath.Join("/run/netns", own.Nodes()[0].NS)); err != nil {
			t.Errorf("a lab of a live process was removed: %v", err)
		}
	}()
	for _, mode := range []string{"fail", "panic", "sigterm", "sigkill"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTeardownHelper$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode, "FLOATLB_REQUIRE_E2E=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var prefix, dir string
			var pid int
			var output []string
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				output = append(output, sc.Text())
				if _, err := fmt.Sscanf(sc.Text(), "LAB %s %s %d", &prefix, &dir, &pid); err == nil {
					break
				}
			}
			if prefix == "" {
				_ = cmd.Wait()
				t.Fatalf("the helper printed no lab:\n%s\n%s", strings.Join(output, "\n"), stderr.String())
			}
			switch mode {
			case "sigterm":
				_ = cmd.Process.Signal(syscall.SIGTERM)
			case "sigkill":
				_ = cmd.Process.Kill()
			}
			for sc.Scan() {
				output = append(output, sc.Text())
			}
			err = cmd.Wait()
			defer func() {
				if t.Failed() {
					t.Logf("the helper ended (%v) after printing:\n%s\n%s", err, strings.Join(output, "\n"), stderr.String())
				}
			}()
			if err == nil {
				t.Fatalf("the helper succeeded; it should have ended by %s", mode)
			}
			if mode == "sigkill" {
				removed, err := lab.CleanupStale(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(removed, prefix) {
					// Then checkNothingLeft tells whether someone did.
					t.Logf("CleanupStale removed %v, not %s: another test binary's may have been first", removed, prefix)
				}
			}
			checkNothingLeft(t, prefix, dir, []int{pid})
		})
	}
}

// TestTeardownHelper is run by TestTeardown only.
func TestTeardownHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("run by TestTeardown")
	}
	l := lab.New(t, lab.Options{Nodes: 1})
	p, err := l.StartProcess(l.Nodes()[0], "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartHTTP(l.Nodes()[0]); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LAB %s %s %d\n", l.Prefix(), l.Dir(), p.PID())
	switch mode {
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	default:
		time.Sleep(time.Minute) // until the signal
		t.Fatal("no signal came")
	}
}

// checkNothingLeft fails t if anything of lab prefix is still there:
// namespaces, links, the state file, the directory, the given processes.
func checkNothingLeft(t *testing.T, prefix, dir string, pids []int) {
	t.Helper()
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			t.Errorf("namespace %s is left", e.Name())
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ifs {
		if strings.HasPrefix(ifi.Name, prefix+"-") {
			t.Errorf("link %s is left", ifi.Name)
		}
	}
	if _, err := os.Stat(filepath.Join("/run/floatlb-lab", prefix+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the state file of %s is left (%v)", prefix, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the directory %s is left (%v)", dir, err)
	}
	for _, pid := range pids {
		// Pdeathsig kills them with their owner; give the kernel a moment.
		deadline := time.Now().Add(5 * time.Second)
		for running(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d is left", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// running reports whether process pid exists and is not a zombie (one whose
// parent died is reaped by init, whenever init gets to it).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

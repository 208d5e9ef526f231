package lab

import (
	"github.com/floatlb/floatlb/test/internal/logtail"

	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process has between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// Process is a long-running command in a host's namespace, started by
// StartProcess. Close stops it if it still runs. It is only ever signalled
// through its PID, never by name.
type Process struct {
	// Host is where it runs.
	Host *Host
	// LogPath is the file its standard output and error go to.
	LogPath string

	cmdline string
	proc    *os.Process
	done    chan struct{} // closed once it has exited and been reaped
	waitErr error         // valid once done is closed
}

// StartProcess starts name with args inside host's namespace (as Command
// does), with its output going to a log file in Dir named after the host and
// the program. Close stops it. To set environment variables, run `env`:
// StartProcess(h, "env", "NODE_NAME=node1", "/path/to/prog", args…) — env
// executes the program in place, so signals reach it.
func (l *Lab) StartProcess(host *Host, name string, args ...string) (*Process, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("starting %s in %s: the lab is closed", name, host)
	}
	logPath := l.newLogPath(host, programName(name, args))
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the log of %s: %w", name, err)
	}
	defer f.Close() // the child has its own copy once started
	cmd := l.Command(host, name, args...)
	cmdline := commandLine(name, args)
	fmt.Fprintf(f, "=== %s: in %s: %s\n", time.Now().Format(time.RFC3339Nano), host.NS, strings.Join(cmd.Args[4:], " "))
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s in %s: %w", cmdline, host, err)
	}
	p := &Process{Host: host, LogPath: logPath, cmdline: cmdline, proc: cmd.Process, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	l.procs = append(l.procs, p)
	return p, nil
}

// programName is the base name of the program a command line runs, looking
// through `env VAR=value… prog`.
func programName(name string, args []string) string {
	if filepath.Base(name) == "env" {
		for _, a := range args {
			if !strings.Contains(a, "=") && !strings.HasPrefix(a, "-") {
				return filepath.Base(a)
			}
		}
	}
	return filepath.Base(name)
}

// newLogPath returns a log file name in Dir not used before by this lab.
// Call with l.mu held.
func (l *Lab) newLogPath(host *Host, program string) string {
	base := host.Name + "-" + program
	l.logNames[base]++
	if n := l.logNames[base]; n > 1 {
		base = fmt.Sprintf("%s-%d", base, n)
	}
	return filepath.Join(l.dir, base+".log")
}

// PID is the process ID.
func (p *Process) PID() int { return p.proc.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until the process exits or ctx ends, and returns how it ended:
// nil for exit status 0.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s in %s: %w", p.cmdline, p.Host, p.waitErr)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s in %s to exit: %w", p.cmdline, p.Host, ctx.Err())
	}
}

// Kill sends SIGKILL (kill -9: no chance to clean up, as in a crash) and
// waits until the process is gone.
func (p *Process) Kill() error {
	if err := p.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s in %s: %w", p.cmdline, p.Host, err)
	}
	<-p.done
	return nil
}

// Stop sends SIGTERM and, if the process is still there after 5s, SIGKILL.
// It returns once the process is gone, and nil if it was gone already.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s in %s: %w", p.cmdline, p.Host, err)
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		return nil
	case <-grace.C:
	}
	return p.Kill()
}

// Tail returns about the last n lines of the process's log.
func (p *Process) Tail(n int) string { return logtail.Tail(p.LogPath, n) }

// stopAll stops processes concurrently.
func stopAll(procs []*Process) error {
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.Stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

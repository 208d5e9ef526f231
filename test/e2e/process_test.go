package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rootProcess is a process in the root namespace (the CCM, which reaches
// the API server on the management bridge like any control-plane host).
type rootProcess struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startRoot starts bin and stops it, by its PID, when the test ends.
func startRoot(t *testing.T, bin string, args ...string) *rootProcess {
	t.Helper()
	log := filepath.Join(t.TempDir(), filepath.Base(bin)+".log")
	out, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &rootProcess{cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s log: %s", filepath.Base(bin), log)
		}
	})
	return p
}

func (p *rootProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

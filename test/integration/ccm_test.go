package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/internal/logtail"
	"github.com/floatlb/floatlb/test/kubeenv"
)

// ccm is a running floatlb-ccm process.
type ccm struct {
	t    testing.TB
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	runs int
}

// startCCM starts floatlb-ccm against env with the standard test flags and
// extra, and stops it when the test ends.
func startCCM(t testing.TB, env *kubeenv.Env, configNamespace string, extra ...string) *ccm {
	t.Helper()
	args := []string{
		"--kubeconfig=" + env.Kubeconfig,
		"--authentication-skip-lookup",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(freePort(t)),
		"--config-namespace=" + configNamespace,
		"--node-monitor-period=1s",
		"-v=2",
	}
	return runCCM(t, append(args, extra...))
}

// runCCM starts floatlb-ccm with exactly args and stops it when the test
// ends.
func runCCM(t testing.TB, args []string) *ccm {
	t.Helper()
	c := &ccm{t: t, args: args, log: filepath.Join(t.TempDir(), "ccm")}
	c.start()
	t.Cleanup(func() {
		c.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("last lines of floatlb-ccm's log:\n%s", logtail.Tail(fmt.Sprintf("%s.%d.log", c.log, c.runs), 40))
		}
	})
	return c
}

func (c *ccm) start() {
	c.t.Helper()
	c.runs++
	out, err := os.Create(fmt.Sprintf("%s.%d.log", c.log, c.runs))
	if err != nil {
		c.t.Fatal(err)
	}
	c.cmd = exec.Command(ccmBinary, c.args...)
	c.cmd.Stdout, c.cmd.Stderr = out, out
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("starting floatlb-ccm: %v", err)
	}
	done := make(chan struct{})
	c.done = done
	go func() { _ = c.cmd.Wait(); out.Close(); close(done) }()
}

// stop sends sig to the CCM (by its PID) and waits for it to exit.
func (c *ccm) stop(sig syscall.Signal) {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
}

// exited tells whether the process started last has exited.
func (c *ccm) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// restart kills the CCM with sig and starts it again.
func (c *ccm) restart(sig syscall.Signal) {
	c.t.Helper()
	c.stop(sig)
	c.start()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it returns nil or timeout passes.
var eventually = fixture.Eventually

package vrrp

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lab is a throwaway set of network namespaces joined by a bridge, for
// tests that need real sockets, netlink and keepalived. Every namespace
// and process it makes is removed in t.Cleanup, also on failure. It uses
// only 192.0.2.0/24 and 2001:db8::/32.
type lab struct {
	t      testing.TB
	prefix string
	dir    string
	nodes  int
}

// newLab skips the test unless it runs as root with ip(8).
func newLab(t testing.TB) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN) for network namespaces and raw sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	sum := sha256.Sum256([]byte(t.Name()))
	l := &lab{t: t, prefix: fmt.Sprintf("flvr%d-%x", os.Getpid(), sum[:3]), dir: t.TempDir()}
	l.addNetns("sw")
	l.ip("-n", l.ns("sw"), "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.ip("-n", l.ns("sw"), "link", "set", "br0", "up")
	return l
}

// ns returns the full name of the lab's namespace name.
func (l *lab) ns(name string) string { return l.prefix + "-" + name }

func (l *lab) addNetns(name string) {
	l.t.Helper()
	ns := l.ns(name)
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("removing netns %s: %v: %s", ns, err, out)
		}
	})
	// No duplicate address detection: addresses are usable at once.
	l.sysctl(name, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	l.ip("-n", ns, "link", "set", "lo", "up")
}

func (l *lab) sysctl(name string, settings ...string) {
	l.t.Helper()
	l.exec(append([]string{"ip", "netns", "exec", l.ns(name), "sysctl", "-qw"}, settings...)...)
}

// node adds a namespace whose eth0 is on the bridge, with the given
// addresses (prefix notation), and returns the namespace's full name.
func (l *lab) node(name string, addrs ...string) string {
	l.t.Helper()
	l.addNetns(name)
	ns := l.ns(name)
	port := fmt.Sprintf("p%d", l.nodes)
	l.nodes++
	l.ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", l.ns("sw"))
	l.ip("-n", l.ns("sw"), "link", "set", port, "master", "br0", "up")
	for _, a := range addrs {
		l.ip("-n", ns, "addr", "add", a, "dev", "eth0")
	}
	l.ip("-n", ns, "link", "set", "eth0", "up")
	return ns
}

func (l *lab) ip(args ...string) string {
	l.t.Helper()
	return l.exec(append([]string{"ip"}, args...)...)
}

func (l *lab) exec(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// proc is a process a lab test started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// stop ends the process with SIGTERM (SIGKILL after 5s), by its PID, and
// waits for it. Stopping twice is harmless.
func (p *proc) stop() { stop(p.cmd, p.done) }

// start runs a command in namespace name until the test ends. ip netns
// exec execs the command, so the PID is the command's.
func (l *lab) start(name string, args ...string) *proc {
	l.t.Helper()
	p := &proc{cmd: exec.Command("ip", append([]string{"netns", "exec", l.ns(name)}, args...)...), done: make(chan struct{}), out: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("starting %s: %v", strings.Join(args, " "), err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	l.t.Cleanup(p.stop)
	return p
}

// stop ends a process this test started, by PID, and waits for it.
func stop(cmd *exec.Cmd, done <-chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// inNetns runs fn on an OS thread switched into namespace name. Sockets
// fn opens stay in that namespace.
func (l *lab) inNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer self.Close()
		target, err := os.Open("/run/netns/" + l.ns(name))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("entering netns %s: %w", l.ns(name), err)
			return
		}
		errc <- fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			return
		}
		runtime.UnlockOSThread()
	}()
	return <-errc
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

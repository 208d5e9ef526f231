package wire

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// A lab is two network namespaces joined by a veth pair, eth0 in each: "node" runs what is
// under test, "client" runs arping and ndisc6. Only 192.0.2.0/24 and 2001:db8::/32 are used.
type lab struct {
	node, client       string
	nodeMAC, clientMAC net.HardwareAddr
}

const (
	labNode4   = "192.0.2.1"
	labClient4 = "192.0.2.2"
	labNode6   = "2001:db8::1"
	labClient6 = "2001:db8::2"
)

// newLab builds a lab, removed in t.Cleanup also when the test fails half-way.
func newLab(t *testing.T) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN and CAP_NET_RAW) to create network namespaces and packet sockets")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	id := rand.Uint32()
	l := &lab{
		node:      fmt.Sprintf("flbwire-%08x-node", id),
		client:    fmt.Sprintf("flbwire-%08x-client", id),
		nodeMAC:   net.HardwareAddr{0x02, 0xf1, 0xb0, 0, 0, 0x01},
		clientMAC: net.HardwareAddr{0x02, 0xf1, 0xb0, 0, 0, 0x02},
	}
	for _, ns := range []string{l.node, l.client} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		for _, s := range []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.default.router_solicitations=0",
		} {
			run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", s)
		}
	}
	run(t, "ip", "-n", l.node, "link", "add", "eth0", "address", l.nodeMAC.String(), "type", "veth",
		"peer", "name", "eth0", "address", l.clientMAC.String(), "netns", l.client)
	// The kernel of the node never answers ARP itself for the addresses we serve.
	run(t, "ip", "netns", "exec", l.node, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1")
	// The client takes gratuitous ARP into its cache.
	run(t, "ip", "netns", "exec", l.client, "sysctl", "-qw", "net.ipv4.conf.all.arp_accept=1", "net.ipv4.conf.eth0.arp_accept=1")
	for ns, addrs := range map[string][2]string{l.node: {labNode4, labNode6}, l.client: {labClient4, labClient6}} {
		run(t, "ip", "-n", ns, "addr", "add", addrs[0]+"/24", "dev", "eth0")
		run(t, "ip", "-n", ns, "addr", "add", addrs[1]+"/64", "dev", "eth0", "nodad")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	}
	// Wait for the link-local addresses (made when the link comes up) to be usable.
	for _, ns := range []string{l.node, l.client} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := run(t, "ip", "-n", ns, "-6", "addr", "show", "dev", "eth0", "scope", "link")
			if strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no usable link-local address on eth0 in %s:\n%s", ns, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return l
}

// run runs a command and fails the test if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// try runs a command in namespace ns with a timeout and returns its output and error.
func try(ns string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
	return string(out), err
}

// in runs fn on a locked OS thread inside namespace ns. Sockets and netlink subscriptions
// fn opens stay in ns; the thread is thrown away afterwards rather than switched back.
func in[T any](t *testing.T, ns string, fn func() (T, error)) T {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			c <- result{err: fmt.Errorf("opening namespace %s: %w", ns, err)}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			c <- result{err: fmt.Errorf("entering namespace %s: %w", ns, err)}
			return
		}
		v, err := fn()
		c <- result{v, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("in namespace %s: %v", ns, r.err)
	}
	return r.v
}

// listenIn starts a Responder on eth0 of namespace ns, closed in t.Cleanup.
func listenIn(t *testing.T, ns string, opts Options) *Responder {
	t.Helper()
	r := in(t, ns, func() (*Responder, error) {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return nil, err
		}
		return Listen(ifi, opts)
	})
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// logObserver logs what a Responder does into the test log.
type logObserver struct{ t *testing.T }

func (o logObserver) Replied(family string)   { o.t.Logf("replied %s", family) }
func (o logObserver) Announced(family string) { o.t.Logf("announced %s", family) }
func (o logObserver) Conflict(ip netip.Addr, mac net.HardwareAddr) {
	o.t.Logf("conflict %s %s", ip, mac)
}
func (o logObserver) SendFailed(family string, err error) {
	o.t.Logf("send failed %s: %v", family, err)
}

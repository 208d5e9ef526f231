package announcer

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netns"

	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// TestNetnsL2CarrierOwningNothing: a node that owns no address yet watches
// the carrier of its l2 pool's interface with netlink from the first plan,
// so it gives its Lease up (anyDown) when that NIC loses carrier, and a
// node whose NIC has none when the pool comes is down at once.
func TestNetnsL2CarrierOwningNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	id := rand.Uint32()
	node, peer := fmt.Sprintf("flbl2-%08x-node", id), fmt.Sprintf("flbl2-%08x-peer", id)
	for _, ns := range []string{node, peer} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "-n", node, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", peer)
	ipCmd(t, "-n", node, "link", "set", "eth1", "up")
	ipCmd(t, "-n", peer, "link", "set", "eth1", "up")
	cfg := &config.Config{
		Pools: []config.Pool{{Name: "lan", Mode: config.ModeL2, Interface: "eth1"}},
		L2:    config.L2{LeaseDuration: config.Duration{Duration: 4 * time.Second}},
	}
	start := func() *l2Mode {
		t.Helper()
		m := newL2Mode(logr.Discard(), newMetrics(prometheus.NewRegistry()), "node1", nil, func() {})
		t.Cleanup(m.stopWatches)
		inNetns(t, node, func() error {
			_, err := m.apply(t.Context(), cfg, planner.Plan{}, planner.Node{Name: "node1"})
			return err
		})
		return m
	}
	waitDown := func(m *l2Mode, want bool) {
		t.Helper()
		waitFor(t, fmt.Sprintf("anyDown %t", want), func() bool { return m.anyDown() == want })
	}

	m := start()
	if m.anyDown() {
		t.Fatal("eth1 counts as down with carrier")
	}
	ipCmd(t, "-n", peer, "link", "set", "eth1", "down") // no carrier on the node's eth1
	waitDown(m, true)
	ipCmd(t, "-n", peer, "link", "set", "eth1", "up")
	waitDown(m, false)

	ipCmd(t, "-n", peer, "link", "set", "eth1", "down")
	waitDown(m, true)
	if late := start(); !late.anyDown() {
		t.Error("a node whose NIC has no carrier when the pool comes is not down after its first plan")
	}
}

// ipCmd runs ip with args and fails t if it fails.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs fn on a locked OS thread inside the network namespace ns:
// the netlink sockets fn opens stay in ns. The thread is thrown away
// afterwards rather than switched back.
func inNetns(t *testing.T, ns string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- fmt.Errorf("opening namespace %s: %w", ns, err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- fmt.Errorf("entering namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatalf("in namespace %s: %v", ns, err)
	}
}

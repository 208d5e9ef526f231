package lab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

// The VIPs the fake speakers announce; from the ranges the e2e tests use.
var (
	vip4 = netip.MustParseAddr("198.19.10.1")
	vip6 = netip.MustParseAddr("2001:db8:100::1")
)

const (
	routerASN = 64500
	nodeASN   = 64512
)

// TestLab builds one lab and checks, in order, what the e2e tests rely on.
func TestLab(t *testing.T) {
	l := lab.New(t, lab.Options{LANHost: true})
	lab.Require(t, "curl")

	t.Run("hosts", func(t *testing.T) {
		n1 := l.Nodes()[0]
		want := lab.Host{
			Name: "node1", NS: l.Prefix() + "-node1", Interface: "eth0",
			IPv4: netip.MustParseAddr("192.0.2.11"), IPv6: netip.MustParseAddr("2001:db8:2::11"),
			Mgmt4: l.MgmtAddr().Next(), MAC: net.HardwareAddr{0x02, 0xfb, 0, 0, 2, 11},
		}
		if diff := cmp.Diff(want, *n1, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("node1 (-want +got):\n%s", diff)
		}
		if got := len(l.Nodes()); got != 3 {
			t.Errorf("%d nodes, want 3", got)
		}
		if l.LANHost() == nil || l.LANHost().IPv4 != netip.MustParseAddr("192.0.2.100") {
			t.Errorf("LAN host %v, want one at 192.0.2.100", l.LANHost())
		}
		// The MAC is the interface's, and no address is tentative (DAD off).
		out, err := l.Exec(t.Context(), n1, "ip", "-j", "addr", "show", "dev", "eth0")
		if err != nil {
			t.Fatal(err)
		}
		var links []struct {
			Address  string `json:"address"`
			AddrInfo []struct {
				Local     string `json:"local"`
				Tentative bool   `json:"tentative"`
			} `json:"addr_info"`
		}
		if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
			t.Fatalf("parsing %s: %v", out, err)
		}
		if links[0].Address != n1.MAC.String() {
			t.Errorf("eth0 of node1 has MAC %s, want %s", links[0].Address, n1.MAC)
		}
		for _, a := range links[0].AddrInfo {
			if a.Tentative {
				t.Errorf("address %s of node1 is tentative: DAD is on", a.Local)
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		r, ok, err := l.Route(t.Context(), l.Nodes()[1], netip.MustParsePrefix("::/0"))
		if err != nil || !ok {
			t.Fatalf("default IPv6 route of node2: %v, %v", ok, err)
		}
		if diff := cmp.Diff([]netip.Addr{l.Router().IPv6}, r.Gateways(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("gateways of node2's IPv6 default route (-want +got):\n%s", diff)
		}
	})

	t.Run("processes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		n := l.Nodes()[0]
		echo, err := l.StartProcess(n, "sh", "-c", "echo in $(readlink /proc/self/ns/net)")
		if err != nil {
			t.Fatal(err)
		}
		if err := echo.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat("/run/netns/" + n.NS)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("in net:[%d]", fi.Sys().(*syscall.Stat_t).Ino)
		if tail := echo.Tail(1); tail != want {
			t.Errorf("log of echo ends %q, want %q", tail, want)
		}
		sleep, err := l.StartProcess(n, "sleep", "600")
		if err != nil {
			t.Fatal(err)
		}
		if err := sleep.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := sleep.Wait(ctx); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Wait after Kill: %v, want killed", err)
		}
		if err := sleep.Stop(); err != nil {
			t.Errorf("Stop after exit: %v", err)
		}
		_, err = l.Exec(ctx, n, "ip", "link", "show", "dev", "nosuchlink")
		if err == nil || !strings.Contains(err.Error(), "nosuchlink") || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("Exec error %q names neither the command nor its output", err)
		}
	})

	if err := l.StartHTTPServers(); err != nil {
		t.Fatal(err)
	}

	t.Run("client reaches the nodes through the router", func(t *testing.T) {
		for _, n := range l.Nodes() {
			for _, addr := range []netip.Addr{n.IPv4, n.IPv6} {
				got, err := l.Curl(t.Context(), l.Client(), lab.URL(addr, 80))
				if err != nil || got != n.Name {
					t.Errorf("GET %s from the client: %q, %v; want %q", lab.URL(addr, 80), got, err, n.Name)
				}
			}
		}
	})

	t.Run("LAN host reaches the nodes", func(t *testing.T) {
		n := l.Nodes()[2]
		got, err := l.Curl(t.Context(), l.LANHost(), lab.URL(n.IPv6, 0))
		if err != nil || got != n.Name {
			t.Errorf("GET %s from the LAN host: %q, %v; want %q", lab.URL(n.IPv6, 0), got, err, n.Name)
		}
	})

	t.Run("Layer 2 tools", func(t *testing.T) { testL2Tools(t, l) })

	t.Run("nodes reach the management address", func(t *testing.T) {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(l.MgmtAddr(), 0).String())
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{
			Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "apiserver") }),
			ReadHeaderTimeout: 5 * time.Second,
		}
		go srv.Serve(ln)
		defer srv.Close()
		port := uint16(ln.Addr().(*net.TCPAddr).Port)
		for _, n := range l.Nodes() {
			got, err := l.Curl(t.Context(), n, lab.URL(l.MgmtAddr(), port))
			if err != nil || got != "apiserver" {
				t.Errorf("GET %s from %s: %q, %v", lab.URL(l.MgmtAddr(), port), n, got, err)
			}
		}
	})

	t.Run("BGP ECMP through BIRD", func(t *testing.T) {
		lab.Require(t, "bird", "birdc")
		testECMP(t, l)
	})
}

// testECMP runs BIRD on the router and, standing in for the announcers,
// BIRD on every node announcing the VIPs; the router must install one ECMP
// route per VIP through all nodes, and the client reach a node through it.
func testECMP(t *testing.T, l *lab.Lab) {
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	const password = "lab secret"
	peers := l.NodePeers(nodeASN, lab.IPv4)
	for i := range peers {
		peers[i].HoldTime = 9 * time.Second
	}
	peers[2].Password = password // MD5 on one session
	peers[2].HoldTime = 3 * time.Second
	router, err := l.StartBIRD(ctx, lab.BIRDConfig{ASN: routerASN, Peers: peers})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range l.Nodes() {
		pw := ""
		if i == 2 {
			pw = password
		}
		if _, err := l.StartBIRDConfig(ctx, n, speakerConfig(n, l.Router(), pw)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range peers {
		if err := router.WaitEstablished(ctx, p.Name); err != nil {
			t.Fatal(err)
		}
	}
	out, err := router.Show(ctx, "protocols")
	if err != nil || !strings.Contains(out, "node3") {
		t.Errorf("birdc show protocols: %v\n%s", err, out)
	}

	var nodeAddrs [2][]netip.Addr
	for _, n := range l.Nodes() {
		nodeAddrs[0] = append(nodeAddrs[0], n.IPv4)
		nodeAddrs[1] = append(nodeAddrs[1], n.IPv6)
	}
	waitGateways(ctx, t, l, vip4, nodeAddrs[0])
	waitGateways(ctx, t, l, vip6, nodeAddrs[1])

	// A node that goes silent is withdrawn after the hold time (3s for
	// node3) and comes back once it is reachable again.
	node3 := l.Nodes()[2]
	if err := l.Isolate(ctx, node3); err != nil {
		t.Fatal(err)
	}
	waitGateways(ctx, t, l, vip4, nodeAddrs[0][:2])
	if err := l.Reconnect(ctx, node3); err != nil {
		t.Fatal(err)
	}
	if err := router.WaitEstablished(ctx, "node3"); err != nil {
		t.Fatal(err)
	}
	waitGateways(ctx, t, l, vip4, nodeAddrs[0])
	waitGateways(ctx, t, l, vip6, nodeAddrs[1])

	for _, n := range l.Nodes() {
		for _, vip := range []netip.Addr{vip4, vip6} {
			if err := l.AcceptVIP(ctx, n, vip); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := map[string]bool{}
	for _, n := range l.Nodes() {
		names[n.Name] = true
	}
	for _, vip := range []netip.Addr{vip4, vip6} {
		got, err := l.Curl(ctx, l.Client(), lab.URL(vip, 0))
		if err != nil || !names[got] {
			t.Errorf("GET %s from the client: %q, %v; want a node's name", lab.URL(vip, 0), got, err)
		}
	}
	if err := l.RemoveVIP(ctx, l.Nodes()[0], vip4); err != nil {
		t.Error(err)
	}
}

// waitGateways waits until the router's route to vip goes via want.
func waitGateways(ctx context.Context, t *testing.T, l *lab.Lab, vip netip.Addr, want []netip.Addr) {
	t.Helper()
	dst := netip.PrefixFrom(vip, vip.BitLen())
	for {
		r, _, err := l.Route(ctx, l.Router(), dst)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Gateways(); slices.Equal(got, want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the router's route to %s goes via %v, want %v", dst, r.Gateways(), want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// speakerConfig is BIRD's config on a node, announcing the VIPs to the
// router as floatlb's announcer will: IPv4 and IPv6 routes over one IPv4
// session, each with the node's own address as next hop.
func speakerConfig(node, router *lab.Host, password string) string {
	pw := ""
	if password != "" {
		pw = fmt.Sprintf("password %q;", password)
	}
	return fmt.Sprintf(`router id %[1]s;
log stderr all;
protocol device { scan time 10; }
protocol static vips4 { ipv4; route %[3]s/32 blackhole; }
protocol static vips6 { ipv6; route %[4]s/128 blackhole; }
protocol bgp tor {
	local %[1]s as %[5]d;
	neighbor %[6]s as %[7]d;
	connect delay time 1;
	connect retry time 2;
	error wait time 1, 5;
	%[8]s
	ipv4 { import none; export where proto = "vips4"; next hop self; };
	ipv6 { import none; export where proto = "vips6"; next hop address %[2]s; };
}
`, node.IPv4, node.IPv6, vip4, vip6, nodeASN, router.IPv4, routerASN, pw)
}

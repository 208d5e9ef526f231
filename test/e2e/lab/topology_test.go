package lab

import (
	"net/netip"
	"os"
	"testing"
)

// TestLayout checks the names and addresses the package documentation
// promises.
func TestLayout(t *testing.T) {
	l := newLab("flbtest", netip.MustParsePrefix("203.0.113.32/28"), Options{Nodes: maxNodes, LANHost: true})
	seen := map[netip.Addr]string{}
	for _, h := range l.hosts() {
		for _, a := range []netip.Addr{h.IPv4, h.IPv6, h.Mgmt4} {
			if !a.IsValid() {
				continue
			}
			if other, dup := seen[a]; dup {
				t.Errorf("%s and %s both have %s", other, h, a)
			}
			seen[a] = h.Name
		}
		if h.Interface != "eth0" || h.NS != "flbtest-"+h.Name {
			t.Errorf("%s: interface %s in %s", h, h.Interface, h.NS)
		}
	}
	last := l.nodes[maxNodes-1]
	if want := netip.MustParseAddr("203.0.113.46"); last.Mgmt4 != want {
		t.Errorf("node%d has management address %s, want %s", maxNodes, last.Mgmt4, want)
	}
	if !l.mgmt.Contains(last.Mgmt4) || l.MgmtAddr() != netip.MustParseAddr("203.0.113.33") {
		t.Errorf("management bridge %s, last node %s: not both inside %s", l.MgmtAddr(), last.Mgmt4, l.mgmt)
	}
	if got, want := l.nodes[1].IPv6, netip.MustParseAddr("2001:db8:2::12"); got != want {
		t.Errorf("node2 has %s, want %s", got, want)
	}
	if got := l.lanhost.MAC.String(); got != "02:fb:00:00:02:64" {
		t.Errorf("LAN host MAC %s", got)
	}
	if n := len(l.mgmtBridge()); n > 15 {
		t.Errorf("%s is longer than an interface name may be", l.mgmtBridge())
	}
}

func TestOptions(t *testing.T) {
	for _, opts := range []Options{{Nodes: -1}, {Nodes: maxNodes + 1}, {Prefix: "Flb"}, {Prefix: "flb-1"}, {Prefix: "flb123456"}} {
		if _, err := withDefaults(opts); err == nil {
			t.Errorf("withDefaults(%+v): no error", opts)
		}
	}
	got, err := withDefaults(Options{Prefix: "demo"})
	if err != nil || got.Nodes != 3 {
		t.Errorf("withDefaults: %+v, %v; want 3 nodes", got, err)
	}
	p, err := randomPrefix()
	if err != nil || !prefixPattern.MatchString(p) || len(p) != 7 {
		t.Errorf("randomPrefix() = %q, %v", p, err)
	}
}

func TestOwner(t *testing.T) {
	start, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s := (state{PID: os.Getpid(), PIDStart: start}); !s.alive() {
		t.Error("this process counts as gone")
	}
	if s := (state{PID: os.Getpid(), PIDStart: start + 1}); s.alive() {
		t.Error("a reused PID counts as the owner")
	}
}

func TestURL(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.11":      "http://192.0.2.11/",
		"2001:db8:100::1": "http://[2001:db8:100::1]/",
	} {
		if got := URL(netip.MustParseAddr(addr), 80); got != want {
			t.Errorf("URL(%s, 80) = %s, want %s", addr, got, want)
		}
	}
	if got := URL(netip.MustParseAddr("2001:db8::1"), 8080); got != "http://[2001:db8::1]:8080/" {
		t.Errorf("URL with port: %s", got)
	}
}

func TestProgramName(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"/usr/sbin/bird", []string{"-f"}, "bird"},
		{"env", []string{"NODE_NAME=node1", "/bin/floatlb-announcer", "-v=2"}, "floatlb-announcer"},
		{"env", []string{"-i", "A=b", "prog"}, "prog"},
	} {
		if got := programName(tc.name, tc.args); got != tc.want {
			t.Errorf("programName(%s, %v) = %s, want %s", tc.name, tc.args, got, tc.want)
		}
	}
}

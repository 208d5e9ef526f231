package lab

import (
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testLab is a lab laid out but not built, for the pure parts.
func testLab() *Lab {
	return newLab("flbtest", netip.MustParsePrefix("203.0.113.16/28"), Options{Nodes: 3})
}

func TestBIRDConfigGolden(t *testing.T) {
	l := testLab()
	peers := l.NodePeers(64512, IPv4)
	peers[0].Passive = true
	peers[0].HoldTime = 9 * time.Second
	peers[1].Password = "s3cret word"
	peers[2].ExtendedNextHop = true
	v6 := l.NodePeers(64512, IPv6)[:2]
	v6[1].ExtendedNextHop = true
	got, err := BIRDConfig{ASN: 64500, Peers: append(peers, v6...)}.render(l.router)
	if err != nil {
		t.Fatal(err)
	}

	golden := filepath.Join("testdata", "router.bird.conf")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("BIRD config (-%s +got); go test -update rewrites it:\n%s", golden, diff)
	}

	// BIRD itself must accept it; parsing needs no root.
	bird, err := lookPath("bird")
	if err != nil {
		t.Skipf("not checking the config with bird -p: %v", err)
	}
	if out, err := exec.Command(bird, "-p", "-c", golden).CombinedOutput(); err != nil {
		t.Errorf("bird -p -c %s: %v\n%s", golden, err, out)
	}
}

func TestBIRDConfigErrors(t *testing.T) {
	l := testLab()
	valid := l.NodePeers(64512, IPv4)[0]
	for _, tc := range []struct {
		name   string
		asn    uint32
		change func(p *BIRDPeer)
		want   string
	}{
		{name: "no router ASN", asn: 0, want: "give the router's ASN"},
		{name: "bad name", asn: 1, change: func(p *BIRDPeer) { p.Name = "node-1" }, want: "peer name"},
		{name: "no address", asn: 1, change: func(p *BIRDPeer) { p.Address = netip.Addr{} }, want: "address and ASN"},
		{name: "no peer ASN", asn: 1, change: func(p *BIRDPeer) { p.ASN = 0 }, want: "address and ASN"},
		{name: "quote in password", asn: 1, change: func(p *BIRDPeer) { p.Password = `a"b` }, want: "password"},
		{name: "short hold time", asn: 1, change: func(p *BIRDPeer) { p.HoldTime = 2 * time.Second }, want: "at least 3s"},
		{name: "fractional hold time", asn: 1, change: func(p *BIRDPeer) { p.HoldTime = 3500 * time.Millisecond }, want: "whole seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := valid
			if tc.change != nil {
				tc.change(&p)
			}
			_, err := BIRDConfig{ASN: tc.asn, Peers: []BIRDPeer{p}}.render(l.router)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one saying %q", err, tc.want)
			}
		})
	}
	dup := []BIRDPeer{valid, valid}
	if _, err := (BIRDConfig{ASN: 1, Peers: dup}).render(l.router); err == nil {
		t.Error("two peers of one name: no error")
	}
}

func TestBGPState(t *testing.T) {
	out := `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
node1      BGP        ---        up     15:12:01.123  Established   
  BGP state:          Established
    Neighbor address: 192.0.2.11
`
	if got := bgpState(out); got != "Established" {
		t.Errorf("bgpState = %q, want Established", got)
	}
	if got := bgpState("BIRD 2.0.12 ready.\n  BGP state:          Active\n"); got != "Active" {
		t.Errorf("bgpState = %q, want Active", got)
	}
	if got := bgpState("syntax error"); got != "" {
		t.Errorf("bgpState = %q, want empty", got)
	}
}

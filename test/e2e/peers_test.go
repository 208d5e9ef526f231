package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

const twoPeersConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.19.30.0/24]
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
  - name: tor-b
    address: 192.0.2.100
    asn: 64501
`

// TestBGPPeerChanges: with two routers, a change to one peer in the
// ConfigMap leaves the other's sessions up, and a pool's bgp.peers keeps its
// routes from the routers it does not name.
func TestBGPPeerChanges(t *testing.T) {
	lab.Require(t, "bird", "birdc")
	c := newCluster(t, twoPeersConfig, lab.Options{LANHost: true})
	ctx := context.Background()
	router, err := c.lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: c.lab.NodePeers(64512, lab.IPv4)})
	if err != nil {
		t.Fatal(err)
	}
	torB, err := c.lab.StartBIRDOn(ctx, c.lab.LANHost(), lab.BIRDConfig{ASN: 64501, Peers: c.lab.NodePeers(64512, lab.IPv4)})
	if err != nil {
		t.Fatal(err)
	}
	c.startCCM()
	c.startAnnouncers()
	for _, n := range c.lab.Nodes() {
		for _, b := range []*lab.BIRD{router, torB} {
			if err := b.WaitEstablished(ctx, n.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
	ip := c.loadBalancer("web", func(s *v1.Service) {
		single := v1.IPFamilyPolicySingleStack
		s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &single, []v1.IPFamily{v1.IPv4Protocol}
	})[0]
	c.routeVia(ip, 30*time.Second, "node1", "node2", "node3")
	c.routeViaOn(c.lab.LANHost(), ip, 30*time.Second, "node1", "node2", "node3")
	before := sessionSince(t, router)

	t.Run("a changed peer leaves the other peer's sessions up", func(t *testing.T) {
		c.setConfig(strings.Replace(twoPeersConfig, "    asn: 64501\n", "    asn: 64501\n    holdTime: 30s\n", 1))
		time.Sleep(3 * time.Second) // the announcers re-add tor-b
		for _, n := range c.lab.Nodes() {
			if err := torB.WaitEstablished(ctx, n.Name); err != nil {
				t.Fatal(err)
			}
		}
		if after := sessionSince(t, router); restarted(before, after) {
			t.Errorf("the router's sessions restarted:\nbefore %s\nafter  %s", before, after)
		}
		c.routeVia(ip, time.Second, "node1", "node2", "node3")
	})

	t.Run("a pool's bgp.peers keeps its routes from the other router", func(t *testing.T) {
		c.setConfig(strings.Replace(twoPeersConfig, "  addresses: [198.19.30.0/24]\n", "  addresses: [198.19.30.0/24]\n  bgp: {peers: [tor-b]}\n", 1))
		c.routeVia(ip, 15*time.Second)
		c.routeViaOn(c.lab.LANHost(), ip, 15*time.Second, "node1", "node2", "node3")
		c.setConfig(twoPeersConfig)
		c.routeVia(ip, 15*time.Second, "node1", "node2", "node3")
	})

	t.Run("a removed peer is dropped, the other stays", func(t *testing.T) {
		c.setConfig(strings.SplitN(twoPeersConfig, "  - name: tor-b", 2)[0])
		c.routeViaOn(c.lab.LANHost(), ip, 15*time.Second)
		if after := sessionSince(t, router); restarted(before, after) {
			t.Errorf("the router's sessions restarted:\nbefore %s\nafter  %s", before, after)
		}
		c.routeVia(ip, time.Second, "node1", "node2", "node3")
	})
}

// session is one node's line of BIRD's "show protocols".
type session struct {
	state string
	since time.Time
}

func (s session) String() string {
	return fmt.Sprintf("%s %s", s.since.Format("15:04:05.000"), s.state)
}

// sessionSince returns each node's session on b: its "since" column changes
// whenever a session goes down or comes up (BIRD also moves it by a
// millisecond or so when a channel's state changes without a restart).
func sessionSince(t *testing.T, b *lab.BIRD) map[string]session {
	t.Helper()
	out, err := b.Show(context.Background(), "protocols")
	if err != nil {
		t.Fatal(err)
	}
	sessions := map[string]session{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && strings.HasPrefix(f[0], "node") {
			since, err := time.Parse("15:04:05.000", f[4])
			if err != nil {
				t.Fatalf("BIRD's since column %q: %v", f[4], err)
			}
			sessions[f[0]] = session{state: f[3] + " " + f[5], since: since}
		}
	}
	return sessions
}

// restarted reports whether a session went down or came up between the two
// readings: a session that restarts is down for at least the connect retry,
// far more than the half second allowed here.
func restarted(before, after map[string]session) bool {
	if len(before) != len(after) {
		return true
	}
	for node, b := range before {
		a, ok := after[node]
		if !ok || a.state != b.state {
			return true
		}
		if d := a.since.Sub(b.since); d > 500*time.Millisecond || d < -500*time.Millisecond {
			return true
		}
	}
	return false
}

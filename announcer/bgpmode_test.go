package announcer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/floatlb/floatlb/announcer/bgp"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// loadConfig parses a floatlb config for a test.
func loadConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPeersForSelector: the announcer opens a session to a peer exactly
// when the planner gives the node routes for it, with Kubernetes
// label-selector semantics: {edge: ""} wants the label present.
func TestPeersForSelector(t *testing.T) {
	cfg := loadConfig(t, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.51.100.0/28]
bgp:
  asn: 64512
  peers:
  - {name: all, address: 192.0.2.254, asn: 64500}
  - {name: edge, address: 192.0.2.253, asn: 64500, nodeSelector: {edge: ""}}
  - {name: rack1, address: 192.0.2.252, asn: 64500, nodeSelector: {rack: r1}}
`)
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{name: "no labels", want: []string{"all"}},
		{name: "rack r1", labels: map[string]string{"rack": "r1"}, want: []string{"all", "rack1"}},
		{name: "edge with an empty value", labels: map[string]string{"edge": ""}, want: []string{"all", "edge"}},
		{name: "edge with a value", labels: map[string]string{"edge": "yes"}, want: []string{"all"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := planner.Node{Name: "node1", Ready: true, Labels: tc.labels}
			b := &bgpMode{log: logr.Discard(), metrics: newMetrics(prometheus.NewRegistry())}
			peers, err := b.peersFor(context.Background(), cfg, self)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range peers {
				got = append(got, p.Name)
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
			// The planner gives the node routes for the same peers.
			plan := planner.Compute(planner.Input{
				Config: cfg, Node: "node1", Nodes: []planner.Node{self},
				Services: []planner.Service{{Key: "default/web", IPs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}},
			})
			if len(plan.BGP) != 1 {
				t.Fatalf("plan has %d routes, want 1", len(plan.BGP))
			}
			if diff := gocmp.Diff(tc.want, plan.BGP[0].Peers); diff != "" {
				t.Errorf("the planner's peers of the route differ from the sessions (-sessions +planner):\n%s", diff)
			}
		})
	}
}

const md5PeersConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.51.100.0/28]
bgp:
  asn: 64512
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500, passwordSecret: {name: floatlb-bgp, key: tor-a}}
  - {name: tor-b, address: 192.0.2.253, asn: 64500, passwordSecret: {name: floatlb-bgp, key: tor-b}}
`

// secretStub answers password reads as a test says, per key.
type secretStub map[string]func() (string, error)

func (s secretStub) read(_ context.Context, ref *config.SecretKeyRef) (string, error) {
	if f := s[ref.Key]; f != nil {
		return f()
	}
	return "", &passwordMissingError{fmt.Sprintf("Secret floatlb-system/%s has no key %q", ref.Name, ref.Key)}
}

func secretOK(pw string) func() (string, error) { return func() (string, error) { return pw, nil } }

func secretAway() (string, error) {
	return "", errors.New(`Get "https://192.0.2.100:6443/api/v1/namespaces/floatlb-system/secrets/floatlb-bgp": dial tcp 192.0.2.100:6443: connect: connection refused`)
}

func secretGone() (string, error) {
	return "", &passwordMissingError{"Secret floatlb-system/floatlb-bgp does not exist"}
}

// TestPeersForPassword: a password that cannot be read, because the API
// server is away or because the Secret or its key is gone, keeps the peer
// with the password read last (so its session and routes stay), says so
// once in the metric and, for a gone Secret, in a Warning Event; a peer
// whose password was never read has no session.
func TestPeersForPassword(t *testing.T) {
	type event struct{ Reason, Message string }
	steps := []struct {
		name    string
		secrets secretStub
		config  string // default md5PeersConfig
		// want is each peer of the node with its password.
		want       map[string]string
		wantErr    bool
		wantMetric string // floatlb_bgp_password_unavailable, text format, without HELP and TYPE
		wantEvents []event
		wantReads  int // Secret reads in the plan; 0: not checked
	}{{
		name:    "both read",
		secrets: secretStub{"tor-a": secretOK("pw-a1"), "tor-b": secretOK("pw-b1")},
		want:    map[string]string{"tor-a": "pw-a1", "tor-b": "pw-b1"},
	}, {
		name:    "API server away: both keep the passwords read last, no Event",
		secrets: secretStub{"tor-a": secretAway, "tor-b": secretAway},
		want:    map[string]string{"tor-a": "pw-a1", "tor-b": "pw-b1"},
		// tor-b does not wait for the API server again in the same plan.
		wantReads: 1,
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-a",peer="tor-a",reason="unreadable",secret="floatlb-bgp"} 1
floatlb_bgp_password_unavailable{key="tor-b",peer="tor-b",reason="unreadable",secret="floatlb-bgp"} 1
`,
	}, {
		name:    "still away: nothing new",
		secrets: secretStub{"tor-a": secretAway, "tor-b": secretAway},
		want:    map[string]string{"tor-a": "pw-a1", "tor-b": "pw-b1"},
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-a",peer="tor-a",reason="unreadable",secret="floatlb-bgp"} 1
floatlb_bgp_password_unavailable{key="tor-b",peer="tor-b",reason="unreadable",secret="floatlb-bgp"} 1
`,
	}, {
		name:    "back, with a new password for tor-a",
		secrets: secretStub{"tor-a": secretOK("pw-a2"), "tor-b": secretOK("pw-b1")},
		want:    map[string]string{"tor-a": "pw-a2", "tor-b": "pw-b1"},
	}, {
		name:    "tor-b's key deleted: kept with its last password, one Warning",
		secrets: secretStub{"tor-a": secretOK("pw-a2")},
		want:    map[string]string{"tor-a": "pw-a2", "tor-b": "pw-b1"},
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-b",peer="tor-b",reason="missing",secret="floatlb-bgp"} 1
`,
		wantEvents: []event{{"floatlb.io/BGPPasswordMissing", `node1 cannot read the TCP MD5 password of BGP peer tor-b: Secret floatlb-system/floatlb-bgp has no key "tor-b". It keeps the session with the password it read last; restore the Secret, or remove passwordSecret from the peer to stop using a password.`}},
	}, {
		name:    "the Secret deleted: tor-a kept too, one Warning for it",
		secrets: secretStub{"tor-a": secretGone, "tor-b": secretGone},
		want:    map[string]string{"tor-a": "pw-a2", "tor-b": "pw-b1"},
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-a",peer="tor-a",reason="missing",secret="floatlb-bgp"} 1
floatlb_bgp_password_unavailable{key="tor-b",peer="tor-b",reason="missing",secret="floatlb-bgp"} 1
`,
		wantEvents: []event{{"floatlb.io/BGPPasswordMissing", `node1 cannot read the TCP MD5 password of BGP peer tor-a: Secret floatlb-system/floatlb-bgp does not exist. It keeps the session with the password it read last; restore the Secret, or remove passwordSecret from the peer to stop using a password.`}},
	}, {
		name:    "tor-b leaves the config: forgotten",
		config:  md5PeersConfig[:strings.Index(md5PeersConfig, "  - {name: tor-b")],
		secrets: secretStub{"tor-a": secretGone},
		want:    map[string]string{"tor-a": "pw-a2"},
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-a",peer="tor-a",reason="missing",secret="floatlb-bgp"} 1
`,
	}, {
		name:    "tor-b back in the config with its Secret gone: no session, nothing to keep",
		secrets: secretStub{"tor-a": secretOK("pw-a2"), "tor-b": secretGone},
		want:    map[string]string{"tor-a": "pw-a2"},
		wantErr: true,
		wantMetric: `
floatlb_bgp_password_unavailable{key="tor-b",peer="tor-b",reason="missing",secret="floatlb-bgp"} 1
`,
		wantEvents: []event{{"floatlb.io/BGPPasswordMissing", `node1 cannot read the TCP MD5 password of BGP peer tor-b: Secret floatlb-system/floatlb-bgp does not exist. It does not start the session until the Secret has the key.`}},
	}, {
		name:    "tor-b's Secret appears",
		secrets: secretStub{"tor-a": secretOK("pw-a2"), "tor-b": secretOK("pw-b2")},
		want:    map[string]string{"tor-a": "pw-a2", "tor-b": "pw-b2"},
	}}

	reg := prometheus.NewRegistry()
	var secrets secretStub
	var events []event
	var reads int
	b := &bgpMode{
		log: logr.Discard(), metrics: newMetrics(reg),
		password: func(ctx context.Context, ref *config.SecretKeyRef) (string, error) {
			reads++
			return secrets.read(ctx, ref)
		},
		warn: func(reason, msg string) { events = append(events, event{reason, msg}) },
	}
	self := planner.Node{Name: "node1", Ready: true}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			secrets, events, reads = st.secrets, nil, 0
			cfg := loadConfig(t, cmp.Or(st.config, md5PeersConfig))
			peers, err := b.peersFor(context.Background(), cfg, self)
			if st.wantReads != 0 && reads != st.wantReads {
				t.Errorf("%d Secret reads in the plan, want %d", reads, st.wantReads)
			}
			if (err != nil) != st.wantErr {
				t.Errorf("peersFor error: %v, want error %v", err, st.wantErr)
			}
			got := map[string]string{}
			for _, p := range peers {
				got[p.Name] = p.Password
			}
			if diff := gocmp.Diff(st.want, got); diff != "" {
				t.Errorf("peers and their passwords (-want +got):\n%s", diff)
			}
			const head = `
# HELP floatlb_bgp_password_unavailable 1 while the TCP MD5 password of a peer cannot be read from its Secret (secret, key), by reason: missing (the Secret or key does not exist) or unreadable (the API server does not answer or refuses). The session keeps the password read last; a peer whose password was never read has no session.
# TYPE floatlb_bgp_password_unavailable gauge`
			want := ""
			if st.wantMetric != "" {
				want = head + st.wantMetric
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floatlb_bgp_password_unavailable"); err != nil {
				t.Error(err)
			}
			if diff := gocmp.Diff(st.wantEvents, events); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyKeepsSessionWhileSecretUnreadable runs apply with a real
// speaker and a peer with a password: when the Secret can no longer be read
// (API server away, then the Secret deleted) the speaker keeps running, the
// peer is neither removed nor replaced, and the route stays advertised.
// (The peer is a closed port on loopback: this kernel's TCP MD5 on GoBGP's
// dual listeners does not let two speakers in one process establish, and
// what matters here is what the announcer asks of its speaker.)
func TestApplyKeepsSessionWhileSecretUnreadable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := loadConfig(t, fmt.Sprintf(`
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.51.100.0/28]
bgp:
  asn: 64512
  peers:
  - {name: router, address: 127.0.0.1, asn: 64500, port: %d, holdTime: 9s, passwordSecret: {name: floatlb-bgp, key: router}}
`, freePort(t)))
	self := planner.Node{Name: "node1", Ready: true, Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	plan := planner.Compute(planner.Input{Config: cfg, Node: "node1", Nodes: []planner.Node{self},
		Services: []planner.Service{{Key: "default/web", IPs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}}})
	var peerChanges []string
	log := funcr.New(func(_, args string) {
		if strings.Contains(args, `"msg"="Added BGP peer"`) || strings.Contains(args, `"msg"="Removed BGP peer"`) {
			peerChanges = append(peerChanges, args)
		}
	}, funcr.Options{})
	read := secretOK("s3cret")
	b := &bgpMode{log: log, metrics: newMetrics(prometheus.NewRegistry()),
		password: func(context.Context, *config.SecretKeyRef) (string, error) { return read() }}
	defer b.close(context.Background())

	if _, err := b.apply(ctx, cfg, plan, self); err != nil {
		t.Fatal(err)
	}
	sp := b.speaker
	if sp == nil || len(peerChanges) != 1 {
		t.Fatalf("after the first apply: speaker %v, peer changes %q", sp, peerChanges)
	}
	for _, tc := range []struct {
		name string
		read func() (string, error)
	}{{"API server away", secretAway}, {"Secret deleted", secretGone}} {
		read, peerChanges = tc.read, nil
		if _, err := b.apply(ctx, cfg, plan, self); err != nil {
			t.Errorf("%s: apply: %v", tc.name, err)
		}
		if b.speaker != sp {
			t.Fatalf("%s: the speaker was closed", tc.name)
		}
		if len(peerChanges) > 0 {
			t.Errorf("%s: the peer changed: %q", tc.name, peerChanges)
		}
		if _, ok := b.speaker.States()["router"]; !ok {
			t.Errorf("%s: the speaker has no peer router: %v", tc.name, b.speaker.States())
		}
		if want, got := []netip.Prefix{netip.MustParsePrefix("198.51.100.1/32")}, b.speaker.Routes(); !slices.Equal(want, got) {
			t.Errorf("%s: routes %v, want %v", tc.name, got, want)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPickIPv6NextHop(t *testing.T) {
	const eth0, eth1, ipvs = 2, 3, 9
	pools := []netip.Prefix{netip.MustParsePrefix("2001:db8:100::/120"), netip.MustParsePrefix("198.51.100.0/24")}
	inPool := func(a netip.Addr) bool {
		return slices.ContainsFunc(pools, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	a := func(s string, link int, flags ...int) hostAddr {
		h := hostAddr{addr: netip.MustParseAddr(s), link: link}
		for _, f := range flags {
			h.flags |= f
		}
		return h
	}
	tests := []struct {
		name   string
		addrs  []hostAddr
		facing int
		want   string // "" none
	}{
		{name: "no addresses"},
		{
			name:   "the address on the interface facing the peer, not the first listed",
			addrs:  []hostAddr{a("2001:db8:9::1", eth1), a("2001:db8:2::11", eth0)},
			facing: eth0, want: "2001:db8:2::11",
		},
		{
			name:   "a pool VIP on the facing interface (VRRP master, kube-ipvs0) is skipped",
			addrs:  []hostAddr{a("2001:db8:100::7", eth0), a("2001:db8:2::11", eth0)},
			facing: eth0, want: "2001:db8:2::11",
		},
		{
			name:   "only pool VIPs: none",
			addrs:  []hostAddr{a("2001:db8:100::7", eth0), a("2001:db8:100::8", ipvs)},
			facing: eth0,
		},
		{
			name:   "link-local, loopback, IPv4 and IPv4-mapped are not global IPv6",
			addrs:  []hostAddr{a("fe80::1", eth0), a("::1", 1), a("192.0.2.11", eth0), a("::ffff:192.0.2.11", eth0)},
			facing: eth0,
		},
		{
			name:   "tentative and DAD-failed addresses are skipped",
			addrs:  []hostAddr{a("2001:db8:2::11", eth0, unix.IFA_F_TENTATIVE), a("2001:db8:2::12", eth0, unix.IFA_F_DADFAILED), a("2001:db8:2::13", eth0)},
			facing: eth0, want: "2001:db8:2::13",
		},
		{
			name:   "a deprecated address only when the interface has no other",
			addrs:  []hostAddr{a("2001:db8:2::11", eth0, unix.IFA_F_DEPRECATED), a("2001:db8:2::12", eth0)},
			facing: eth0, want: "2001:db8:2::12",
		},
		{
			name:   "deprecated on the facing interface beats another interface",
			addrs:  []hostAddr{a("2001:db8:9::1", eth1), a("2001:db8:2::11", eth0, unix.IFA_F_DEPRECATED)},
			facing: eth0, want: "2001:db8:2::11",
		},
		{
			name:   "nothing on the facing interface: another interface's address",
			addrs:  []hostAddr{a("fe80::1", eth0), a("2001:db8:100::9", eth1), a("2001:db8:9::1", eth1)},
			facing: eth0, want: "2001:db8:9::1",
		},
		{
			name:  "facing interface unknown: the first usable address",
			addrs: []hostAddr{a("2001:db8:100::9", eth1), a("2001:db8:9::1", eth1), a("2001:db8:2::11", eth0)},
			want:  "2001:db8:9::1",
		},
		{
			name:   "a unique local address counts",
			addrs:  []hostAddr{a("fd00:10::11", eth0)},
			facing: eth0, want: "fd00:10::11",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := pickIPv6NextHop(tc.addrs, tc.facing, inPool)
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got != want || ok != want.IsValid() {
				t.Errorf("pickIPv6NextHop = %v, %v; want %v, %v", got, ok, want, want.IsValid())
			}
		})
	}
}

// TestNextHops: the InternalIP of the route's family is the next hop;
// without an IPv6 InternalIP, IPv6 routes take the host's address facing
// their first peer with a session, looked up once per peer and plan, with
// the pools' addresses excluded.
func TestNextHops(t *testing.T) {
	cfg := loadConfig(t, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [198.51.100.0/28, 2001:db8:100::/120]
bgp:
  asn: 64512
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500}
  - {name: tor-b, address: 2001:db8:2::fe, asn: 64500}
`)
	peers := []bgp.Peer{
		{Name: "tor-a", Address: netip.MustParseAddr("192.0.2.254")},
		{Name: "tor-b", Address: netip.MustParseAddr("2001:db8:2::fe")},
	}
	facing := map[netip.Addr]netip.Addr{
		netip.MustParseAddr("192.0.2.254"):    netip.MustParseAddr("2001:db8:1::11"),
		netip.MustParseAddr("2001:db8:2::fe"): netip.MustParseAddr("2001:db8:2::11"),
	}
	route := func(prefix string, peers ...string) planner.Route {
		return planner.Route{Prefix: netip.MustParsePrefix(prefix), Peers: peers}
	}
	tests := []struct {
		name      string
		addresses []string // the node's InternalIPs
		routes    []planner.Route
		want      []string // "" not announced
		lookups   []string // peers asked about
	}{{
		name:      "dual-stack InternalIPs: no lookup",
		addresses: []string{"192.0.2.11", "2001:db8:1::11"},
		routes:    []planner.Route{route("198.51.100.1/32", "tor-a"), route("2001:db8:100::1/128", "tor-a")},
		want:      []string{"192.0.2.11", "2001:db8:1::11"},
	}, {
		name:      "IPv4 InternalIP only: the address facing the route's first peer, asked once",
		addresses: []string{"192.0.2.11"},
		routes: []planner.Route{
			route("2001:db8:100::1/128", "tor-a", "tor-b"), route("2001:db8:100::2/128", "tor-a", "tor-b"),
			route("2001:db8:100::3/128", "tor-b"), route("198.51.100.1/32", "tor-a"),
		},
		want:    []string{"2001:db8:1::11", "2001:db8:1::11", "2001:db8:2::11", "192.0.2.11"},
		lookups: []string{"192.0.2.254", "2001:db8:2::fe"},
	}, {
		name:      "a peer without a session is passed over",
		addresses: []string{"192.0.2.11"},
		routes:    []planner.Route{route("2001:db8:100::1/128", "tor-c", "tor-b")},
		want:      []string{"2001:db8:2::11"},
		lookups:   []string{"2001:db8:2::fe"},
	}, {
		name:      "IPv6 InternalIP only: IPv4 routes are not announced",
		addresses: []string{"2001:db8:1::11"},
		routes:    []planner.Route{route("198.51.100.1/32", "tor-a")},
		want:      []string{""},
	}, {
		name:      "no peer: not announced",
		addresses: []string{"192.0.2.11"},
		routes:    []planner.Route{route("198.51.100.1/32")},
		want:      []string{""},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := planner.Node{Name: "node1"}
			for _, a := range tc.addresses {
				self.Addresses = append(self.Addresses, netip.MustParseAddr(a))
			}
			var lookups []string
			b := &bgpMode{log: logr.Discard(), hostIPv6: func(peer netip.Addr, inPool func(netip.Addr) bool) (netip.Addr, bool) {
				lookups = append(lookups, peer.String())
				if !inPool(netip.MustParseAddr("2001:db8:100::7")) || inPool(netip.MustParseAddr("2001:db8:1::11")) {
					t.Errorf("inPool does not follow the config's pools")
				}
				nh, ok := facing[peer]
				return nh, ok
			}}
			hops := b.nextHops(cfg, self, peers)
			var got []string
			for _, r := range tc.routes {
				nh, ok := hops.of(r)
				if ok != nh.IsValid() {
					t.Errorf("%s: next hop %v, ok %v", r.Prefix, nh, ok)
				}
				s := ""
				if ok {
					s = nh.String()
				}
				got = append(got, s)
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("next hops (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tc.lookups, lookups); diff != "" {
				t.Errorf("lookups (-want +got):\n%s", diff)
			}
			// The routes left out for want of an address are said once
			// for the plan (sayMissing), not once each.
			var missing []netip.Prefix
			for i, r := range tc.routes {
				if tc.want[i] == "" && len(r.Peers) > 0 {
					missing = append(missing, r.Prefix)
				}
			}
			if !slices.Equal(missing, hops.missing) {
				t.Errorf("routes left out for want of an address: %v, want %v", hops.missing, missing)
			}
		})
	}
}

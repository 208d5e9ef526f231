// Package lab builds the network-namespace test bed that floatlb's e2e tests
// and `make demo` run on: Kubernetes nodes, a router with BIRD, a client and
// a spare LAN host, each in its own network namespace, and always removes it
// again.
//
// The topology (addresses for the default three nodes):
//
//	root namespace: only the management bridge and its veth ends
//	+--------------------------------------------------------------+
//	| kube-apiserver (started by the caller) on MgmtAddr()         |
//	| <prefix>-mgmt  bridge 203.0.113.1/28 (first free /28)        |
//	|    |<prefix>-m1        |<prefix>-m2        |<prefix>-m3      |
//	+----+-------------------+-------------------+-----------------+
//	     |mgmt0 .2/28        |mgmt0 .3/28        |mgmt0 .4/28
//	+----+-----+        +----+-----+        +----+-----+
//	| node1    |        | node2    |        | node3    |   announcer,
//	| eth0 .11 |        | eth0 .12 |        | eth0 .13 |   HTTP server
//	+----+-----+        +----+-----+        +----+-----+
//	     |                   |                   |
//	+----+-------------------+-------------------+-----------------+
//	| <prefix>-lan: bridge br0, a plain switch (no addresses)      |
//	| LAN 192.0.2.0/24, 2001:db8:2::/64                            |
//	+----+---------------------------------------+-----------------+
//	     |eth0 192.0.2.1                         |eth0 192.0.2.100
//	     |     2001:db8:2::1                     |     2001:db8:2::100
//	+----+-----+                            +----+-----+
//	| router   |  BIRD; forwards v4, v6     | lanhost  |  Options.LANHost:
//	+----+-----+                            +----------+  arping, ndisc6
//	     |eth1 198.51.100.1, 2001:db8:3::1
//	     |
//	     |eth0 198.51.100.2, 2001:db8:3::2
//	+----+-----+
//	| client   |  curl; default routes via the router
//	+----------+
//
// Node i (from 1) has LAN addresses 192.0.2.(10+i) and 2001:db8:2::(10+i),
// written with the same digits (::11, ::12, ...), on eth0 — the interface that carries its
// InternalIP, so Layer 2 mode finds it by default — and 203.0.113.(base+1+i)
// on mgmt0. Nodes and the LAN host route by default (v4 and v6) via the
// router, so replies reach the client. Service VIPs come from 198.18.0.0/15
// (say 198.19.10.0/24) and 2001:db8:100::/120: the router learns them from the
// nodes by BGP and installs ECMP routes; AcceptVIP makes a node accept a VIP
// as kube-proxy would. Nodes answer ARP only for addresses on the interface
// asked (arp_ignore=1, arp_announce=2, as kube-proxy's strictARP sets
// them), so a VIP that AcceptVIP made local is answered by floatlb's Layer 2
// mode alone; OnLink puts a Layer 2 pool on the LAN host's (or the
// router's) link. LAN interfaces have fixed MAC addresses
// (02:fb:00:00:02:<last octet of the IPv4 address>), IPv6 duplicate address
// detection is off everywhere, and lo is up in every namespace.
//
// The root namespace gets nothing but the management bridge, an IPv4-only
// link that lets node namespaces reach an API server bound to MgmtAddr; it
// forwards nowhere. The root namespace has no route into the lab: reach lab
// addresses only from inside it (Exec, Curl).
//
// Names start with a per-lab prefix ("flb" and four hex digits): namespaces
// "<prefix>-node1", "<prefix>-router", "<prefix>-client", "<prefix>-lanhost",
// "<prefix>-lan", root-namespace links "<prefix>-mgmt" and "<prefix>-m<i>",
// and the directory $TMPDIR/floatlb-lab-<prefix>. A state file
// /run/floatlb-lab/<prefix>.json records the owning process; CleanupStale
// (run by every Start) removes labs whose owner is gone, say after a SIGKILL
// or a test -timeout.
//
// Tests use New, which skips without root or the ip command (fails with
// FLOATLB_REQUIRE_E2E=1) and tears the lab down in t.Cleanup and on
// SIGINT/SIGTERM; programs use Start and Close. What a test does next:
//
//	l := lab.New(t, lab.Options{})
//	env := kubeenv.StartT(t, kubeenv.Options{BindAddress: l.MgmtAddr()})
//	bird, err := l.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: l.NodePeers(64512, lab.IPv4)})
//	p, err := l.StartProcess(node, announcerBin, "--kubeconfig", kubeconfig, "--node-name", node.Name)
//	err = bird.WaitEstablished(ctx, node.Name)
//	route, ok, err := l.Route(ctx, l.Router(), netip.MustParsePrefix("198.19.10.1/32"))
//	err = l.StartHTTPServers()            // each node answers GET / with its name
//	err = l.AcceptVIP(ctx, node, vip)     // as kube-proxy would
//	name, err := l.Curl(ctx, l.Client(), lab.URL(vip, 80))
//	err = p.Kill()                        // kill -9 the announcer
//	err = l.Isolate(ctx, node)            // the node goes silent on the LAN
//
// and for Layer 2 mode, from the LAN host:
//
//	err = l.OnLink(ctx, l.LANHost(), netip.MustParsePrefix("198.19.20.0/24"))
//	macs, err := l.ARPing(ctx, l.LANHost(), vip4, 3, 4*time.Second) // one MAC per reply
//	macs, err := l.NDisc(ctx, l.LANHost(), vip6, time.Second)
//	mac, err := l.Neighbor(ctx, l.LANHost(), vip4)  // its kernel's entry; sends nothing
//	addrs, err := l.Addrs(ctx, node, "eth0")
//	err = l.LinkDown(ctx, node)           // ip link set eth0 down, inside node
//	err = l.LinkUp(ctx, node)             // and back, addresses and routes restored
//	err = l.SetSysctls(node, map[string]string{"net.ipv4.conf.all.arp_ignore": "0"})
package lab

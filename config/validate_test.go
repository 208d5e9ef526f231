package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pool returns a pools section with one pool called p; extra holds more of
// its fields, each line indented by two spaces.
func pool(addresses, extra string) string {
	return "pools:\n- name: p\n  addresses: " + addresses + "\n" + extra
}

// peer returns a bgp section with the peer a; extra holds more of its fields
// in flow style, starting with ", ".
func peer(extra string) string {
	return "bgp:\n  asn: 64512\n  peers: [{name: a, address: 192.0.2.254, asn: 64500" + extra + "}]\n"
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string // a line of the error
	}{
		// Header.
		{"apiVersion missing", []byte("kind: Config\n"), `apiVersion: required; set it to "floatlb.io/v1alpha1"`},
		{"apiVersion wrong", []byte("apiVersion: metallb.io/v1beta1\nkind: Config\n"), `apiVersion: "metallb.io/v1beta1" is not supported; use "floatlb.io/v1alpha1"`},
		{"kind missing", []byte("apiVersion: floatlb.io/v1alpha1\n"), `kind: required; set it to "Config"`},
		{"kind wrong", []byte("apiVersion: floatlb.io/v1alpha1\nkind: IPAddressPool\n"), `kind: "IPAddressPool" is not supported; use "Config"`},

		// Pool names.
		{"pool name empty", doc("pools: [{addresses: [192.0.2.0/28]}]\n"), `pools[0].name: required`},
		{"pool name uppercase", doc("pools: [{name: Public, addresses: [192.0.2.0/28]}]\n"), `pools[0].name: "Public" is not a valid name; use at most 63 lowercase letters`},
		{"pool name too long", doc("pools: [{name: " + strings.Repeat("a", 64) + ", addresses: [192.0.2.0/28]}]\n"), `pools[0].name: "` + strings.Repeat("a", 64) + `" is not a valid name`},
		{"pool name with a dot", doc("pools: [{name: a.b, addresses: [192.0.2.0/28]}]\n"), `pools[0].name: "a.b" is not a valid name`},
		{"pool name ends with '-'", doc("pools: [{name: a-, addresses: [192.0.2.0/28]}]\n"), `pools[0].name: "a-" is not a valid name`},
		{"pool names duplicate", doc("pools:\n- {name: a, addresses: [192.0.2.0/28]}\n- {name: a, addresses: [192.0.2.16/28]}\n"), `pools[1].name: "a" is already the name of pools[0]`},

		// Pool addresses.
		{"no addresses", doc("pools: [{name: p}]\n"), `pools[0].addresses: required; a pool needs at least one CIDR, range or address`},
		{"empty addresses", doc(pool("[]", "")), `pools[0].addresses: required`},
		{"not an address", doc(pool("[public]", "")), `pools[0].addresses[0]: "public" is not a valid IP address, CIDR or range`},
		{"empty address", doc(pool(`[""]`, "")), `pools[0].addresses[0]: "" is not a valid IP address, CIDR or range`},
		{"bad range", doc(pool("[198.51.100.300-198.51.100.310]", "")), `pools[0].addresses[0]: "198.51.100.300-198.51.100.310" is not a valid range: "198.51.100.300" is not an IP address`},
		{"range with one end", doc(pool("[198.51.100.3-]", "")), `pools[0].addresses[0]: "198.51.100.3-" is not a valid range: "" is not an IP address`},
		{"range of CIDRs", doc(pool("[192.0.2.0/28-192.0.2.16/28]", "")), `pools[0].addresses[0]: "192.0.2.0/28-192.0.2.16/28" is not a valid range`},
		{"bad CIDR", doc(pool("[192.0.2.0/33]", "")), `pools[0].addresses[0]: "192.0.2.0/33" is not a valid CIDR`},
		{"CIDR with host bits", doc(pool("[192.0.2.5/28]", "")), `pools[0].addresses[0]: "192.0.2.5/28" has host bits set; did you mean "192.0.2.0/28"?`},
		{"IPv6 CIDR with host bits", doc(pool(`["2001:db8::1/64"]`, "")), `pools[0].addresses[0]: "2001:db8::1/64" has host bits set; did you mean "2001:db8::/64"?`},
		{"range backwards", doc(pool("[198.51.100.20-198.51.100.10]", "")), `pools[0].addresses[0]: "198.51.100.20-198.51.100.10" is not a valid range: it starts after it ends`},
		{"range of two families", doc(pool(`["192.0.2.1-2001:db8::1"]`, "")), `pools[0].addresses[0]: "192.0.2.1-2001:db8::1" is not a valid range: it mixes IPv4 and IPv6`},
		{"address with a zone", doc(pool(`["fe80::1%eth0"]`, "")), `pools[0].addresses[0]: "fe80::1%eth0" has a zone; pool addresses can't have one`},
		{"IPv4-mapped address", doc(pool(`["::ffff:192.0.2.1"]`, "")), `pools[0].addresses[0]: "::ffff:192.0.2.1" is an IPv4-mapped IPv6 address; write "192.0.2.1"`},
		{"IPv4-mapped CIDR", doc(pool(`["::ffff:192.0.2.0/120"]`, "")), `pools[0].addresses[0]: "::ffff:192.0.2.0/120" is not a valid CIDR: IPv4-mapped IPv6 addresses are not allowed`},

		// Overlaps.
		{"same address twice", doc(pool("[192.0.2.7, 192.0.2.7]", "")), `pools[0].addresses[1]: "192.0.2.7" overlaps "192.0.2.7" (pools[0].addresses[0]) of the same pool`},
		{"overlap within a pool", doc(pool("[192.0.2.0/28, 192.0.2.10-192.0.2.20]", "")), `pools[0].addresses[1]: "192.0.2.10-192.0.2.20" overlaps "192.0.2.0/28" (pools[0].addresses[0]) of the same pool`},
		{"overlap across pools", doc("pools:\n- {name: a, addresses: [192.0.2.0/28]}\n- {name: b, addresses: [192.0.2.8/29]}\n"), `pools[1].addresses[0]: "192.0.2.8/29" of pool "b" overlaps "192.0.2.0/28" (pools[0].addresses[0]) of pool "a"`},
		{"overlap reported on the later entry", doc("pools:\n- {name: a, addresses: [192.0.2.8/29]}\n- {name: b, addresses: [192.0.2.0/28]}\n"), `pools[1].addresses[0]: "192.0.2.0/28" of pool "b" overlaps "192.0.2.8/29" (pools[0].addresses[0]) of pool "a"`},
		{"overlap of IPv6", doc(`pools:
- {name: a, addresses: ["2001:db8:1::/120"]}
- {name: b, addresses: ["2001:db8:1::ff - 2001:db8:1::1ff"]}
`), `pools[1].addresses[0]: "2001:db8:1::ff - 2001:db8:1::1ff" of pool "b" overlaps "2001:db8:1::/120" (pools[0].addresses[0]) of pool "a"`},
		{"overlap with an entry that reaches further", doc(pool("[198.18.0.0/15, 198.18.0.1, 198.19.255.255]", "")), `pools[0].addresses[2]: "198.19.255.255" overlaps "198.18.0.0/15" (pools[0].addresses[0]) of the same pool`},

		// Other pool fields.
		{"unknown mode", doc(pool("[192.0.2.0/28]", "  mode: arp\n")), `pools[0].mode: "arp" is not a mode; use bgp, l2 or vrrp`},
		{"bad namespace", doc(pool("[192.0.2.0/28]", "  namespaces: [default, Kube_System]\n")), `pools[0].namespaces[1]: "Kube_System" is not a valid namespace name`},
		{"bad nodeSelector key", doc(pool("[192.0.2.0/28]", "  nodeSelector: {\"rack id\": a}\n")), `pools[0].nodeSelector: "rack id" is not a valid label key`},
		{"bad nodeSelector key prefix", doc(pool("[192.0.2.0/28]", "  nodeSelector: {\"Example.com/rack\": a}\n")), `pools[0].nodeSelector: "Example.com/rack" is not a valid label key`},
		{"bad nodeSelector value", doc(pool("[192.0.2.0/28]", "  nodeSelector: {rack: \"a b\"}\n")), `pools[0].nodeSelector["rack"]: "a b" is not a valid label value`},
		{"interface name too long", doc(pool("[192.0.2.0/28]", "  interface: enp0s31f6-uplink0\n")), `pools[0].interface: "enp0s31f6-uplink0" is not a valid interface name; use at most 15 characters, without '/', ':' or spaces`},
		{"interface name with '/'", doc(pool("[192.0.2.0/28]", "  interface: eth0/1\n")), `pools[0].interface: "eth0/1" is not a valid interface name`},
		{"interface name with a space", doc(pool("[192.0.2.0/28]", "  interface: \"eth 0\"\n")), `pools[0].interface: "eth 0" is not a valid interface name`},

		// Pool bgp.
		{"pool names an unknown peer", doc(pool("[192.0.2.0/28]", "  bgp: {peers: [a, b]}\n") + peer("")), `pools[0].bgp.peers[1]: "b" is not the name of a peer of bgp.peers`},
		{"pool names a peer twice", doc(pool("[192.0.2.0/28]", "  bgp: {peers: [a, a]}\n") + peer("")), `pools[0].bgp.peers[1]: "a" is listed twice`},
		{"community part too big", doc(pool("[192.0.2.0/28]", "  bgp: {communities: [\"64512:65536\"]}\n")), `pools[0].bgp.communities[0]: "64512:65536" is not a valid community; use "A:B" with A and B in 0..65535, or no-export, no-advertise, no-export-subconfed or no-peer`},
		{"community with three parts", doc(pool("[192.0.2.0/28]", "  bgp: {communities: [\"1:2:3\"]}\n")), `pools[0].bgp.communities[0]: "1:2:3" is not a valid community`},
		{"community unknown name", doc(pool("[192.0.2.0/28]", "  bgp: {communities: [no-export, blackhole]}\n")), `pools[0].bgp.communities[1]: "blackhole" is not a valid community`},
		{"community negative", doc(pool("[192.0.2.0/28]", "  bgp: {communities: [\"-1:1\"]}\n")), `pools[0].bgp.communities[0]: "-1:1" is not a valid community`},
		{"large community with two parts", doc(pool("[192.0.2.0/28]", "  bgp: {largeCommunities: [\"64512:1\"]}\n")), `pools[0].bgp.largeCommunities[0]: "64512:1" is not a valid large community; use "A:B:C" with A, B and C in 0..4294967295`},
		{"large community part too big", doc(pool("[192.0.2.0/28]", "  bgp: {largeCommunities: [\"1:2:4294967296\"]}\n")), `pools[0].bgp.largeCommunities[0]: "1:2:4294967296" is not a valid large community`},
		{"aggregationLength negative", doc(pool("[192.0.2.0/28]", "  bgp: {aggregationLength: -1}\n")), `pools[0].bgp.aggregationLength: -1 is out of range; use 0 for host routes, or a prefix length`},
		{"aggregationLength above 128", doc(pool(`["2001:db8::/64"]`, "  bgp: {aggregationLength: 129}\n")), `pools[0].bgp.aggregationLength: 129 is out of range`},
		{"aggregationLength longer than IPv4", doc(pool("[192.0.2.0/28]", "  bgp: {aggregationLength: 64}\n")), `pools[0].bgp.aggregationLength: 64 is longer than an IPv4 address (32 bits), and the pool has IPv4 addresses`},
		{"aggregationLength shorter than the CIDR", doc(pool("[192.0.2.0/28]", "  bgp: {aggregationLength: 24}\n")), `pools[0].bgp.aggregationLength: 24 is shorter than "192.0.2.0/28" (addresses[0]) allows; the routes would cover addresses outside the pool`},
		{"aggregationLength shorter than the IPv6 CIDR", doc(pool(`["192.0.2.0/28", "2001:db8:1::/120"]`, "  bgp: {aggregationLength: 30}\n")), `pools[0].bgp.aggregationLength: 30 is shorter than "2001:db8:1::/120" (addresses[1]) allows`},
		{"aggregationLength over a range", doc(pool("[198.51.100.10-198.51.100.20]", "  bgp: {aggregationLength: 31}\n")), `pools[0].bgp.aggregationLength: 31 is shorter than "198.51.100.10-198.51.100.20" (addresses[0]) allows`},

		// bgp.
		{"asn missing with peers", doc("bgp:\n  peers: [{name: a, address: 192.0.2.254, asn: 64500}]\n"), `bgp.asn: required when bgp.peers is set; use the announcers' AS number (1..4294967295)`},
		{"listenPort 0", doc("bgp: {listenPort: 0}\n"), `bgp.listenPort: 0 is not a port; use 1..65535, or -1 to never listen`},
		{"listenPort -2", doc("bgp: {listenPort: -2}\n"), `bgp.listenPort: -2 is not a port`},
		{"listenPort too big", doc("bgp: {listenPort: 65536}\n"), `bgp.listenPort: 65536 is not a port`},
		{"peer name empty", doc("bgp:\n  asn: 1\n  peers: [{address: 192.0.2.254, asn: 2}]\n"), `bgp.peers[0].name: required`},
		{"peer name invalid", doc("bgp:\n  asn: 1\n  peers: [{name: TOR_A, address: 192.0.2.254, asn: 2}]\n"), `bgp.peers[0].name: "TOR_A" is not a valid name`},
		{"peer names duplicate", doc("bgp:\n  asn: 1\n  peers:\n  - {name: a, address: 192.0.2.254, asn: 2}\n  - {name: a, address: 192.0.2.253, asn: 2}\n"), `bgp.peers[1].name: "a" is already the name of bgp.peers[0]`},
		{"peer address missing", doc("bgp:\n  asn: 1\n  peers: [{name: a, asn: 2}]\n"), `bgp.peers[0].address: required`},
		{"peer address a name", doc("bgp:\n  asn: 1\n  peers: [{name: a, address: tor-a.example, asn: 2}]\n"), `bgp.peers[0].address: "tor-a.example" is not an IP address`},
		{"peer address a CIDR", doc("bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254/24, asn: 2}]\n"), `bgp.peers[0].address: "192.0.2.254/24" is not an IP address`},
		{"peer address IPv4-mapped", doc("bgp:\n  asn: 1\n  peers: [{name: a, address: \"::ffff:192.0.2.254\", asn: 2}]\n"), `bgp.peers[0].address: "::ffff:192.0.2.254" is an IPv4-mapped IPv6 address; write "192.0.2.254"`},
		{"peer asn missing", doc("bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254}]\n"), `bgp.peers[0].asn: required; use the peer's AS number (1..4294967295)`},
		{"peer asn 0", doc("bgp:\n  asn: 1\n  peers: [{name: a, address: 192.0.2.254, asn: 0}]\n"), `bgp.peers[0].asn: required`},
		{"peer port negative", doc(peer(", port: -1")), `bgp.peers[0].port: -1 is not a port (1..65535)`},
		{"peer port too big", doc(peer(", port: 65536")), `bgp.peers[0].port: 65536 is not a port (1..65535)`},
		{"holdTime 2s", doc(peer(", holdTime: 2s")), `bgp.peers[0].holdTime: "2s" is too short; BGP allows at least 3s`},
		{"holdTime negative", doc(peer(", holdTime: -90s")), `bgp.peers[0].holdTime: "-1m30s" is too short; BGP allows at least 3s`},
		{"holdTime too long", doc(peer(", holdTime: 20h")), `bgp.peers[0].holdTime: "20h0m0s" is too long; BGP allows at most 18h12m15s`},
		{"holdTime not in seconds", doc(peer(", holdTime: 3500ms")), `bgp.peers[0].holdTime: "3.5s" is not a whole number of seconds, as BGP counts it`},
		{"keepaliveTime equal to holdTime", doc(peer(", holdTime: 30s, keepaliveTime: 30s")), `bgp.peers[0].keepaliveTime: "30s" must be shorter than holdTime (30s); a third of it is usual`},
		{"keepaliveTime above holdTime", doc(peer(", keepaliveTime: 2m")), `bgp.peers[0].keepaliveTime: "2m0s" must be shorter than holdTime (1m30s)`},
		{"keepaliveTime below 1s", doc(peer(", keepaliveTime: 500ms")), `bgp.peers[0].keepaliveTime: "500ms" is too short; use at least 1s`},
		{"keepaliveTime negative", doc(peer(", keepaliveTime: -1s")), `bgp.peers[0].keepaliveTime: "-1s" is too short`},
		{"keepaliveTime not in seconds", doc(peer(", keepaliveTime: 1500ms")), `bgp.peers[0].keepaliveTime: "1.5s" is not a whole number of seconds`},
		{"ebgpMultihop too big", doc(peer(", ebgpMultihop: 256")), `bgp.peers[0].ebgpMultihop: 256 is out of range; use a TTL of 1..255, or 0 for off`},
		{"ebgpMultihop negative", doc(peer(", ebgpMultihop: -1")), `bgp.peers[0].ebgpMultihop: -1 is out of range`},
		{"passwordSecret without name", doc(peer(", passwordSecret: {key: tor-a}")), `bgp.peers[0].passwordSecret.name: required`},
		{"passwordSecret without key", doc(peer(", passwordSecret: {name: floatlb-bgp}")), `bgp.peers[0].passwordSecret.key: required`},
		{"passwordSecret bad name", doc(peer(", passwordSecret: {name: BGP, key: a}")), `bgp.peers[0].passwordSecret.name: "BGP" is not a valid Secret name`},
		{"passwordSecret bad key", doc(peer(", passwordSecret: {name: bgp, key: \"tor/a\"}")), `bgp.peers[0].passwordSecret.key: "tor/a" is not a valid Secret key`},
		{"peer nodeSelector bad value", doc(peer(", nodeSelector: {rack: \"-a\"}")), `bgp.peers[0].nodeSelector["rack"]: "-a" is not a valid label value`},

		// l2 and vrrp.
		{"leaseDuration negative", doc("l2: {leaseDuration: -4s}\n"), `l2.leaseDuration: "-4s" is too short; use at least 1s`},
		{"leaseDuration below 1s", doc("l2: {leaseDuration: 999ms}\n"), `l2.leaseDuration: "999ms" is too short; use at least 1s`},
		{"advertInterval negative", doc("vrrp: {advertInterval: -1s}\n"), `vrrp.advertInterval: "-1s" is too short; use at least 10ms`},
		{"advertInterval below 10ms", doc("vrrp: {advertInterval: 5ms}\n"), `vrrp.advertInterval: "5ms" is too short; use at least 10ms`},
		{"advertInterval not a multiple of 10ms", doc("vrrp: {advertInterval: 105ms}\n"), `vrrp.advertInterval: "105ms" is not a multiple of 10ms, the unit of VRRPv3`},
		{"advertInterval above 40.95s", doc("vrrp: {advertInterval: 40960ms}\n"), `vrrp.advertInterval: "40.96s" is too long; VRRPv3 allows at most 40.95s`},
		{"reserved VRID 0", doc("vrrp: {reservedVRIDs: [0]}\n"), `vrrp.reservedVRIDs[0]: 0 is not a VRID; VRIDs are 1 to 255`},
		{"reserved VRID 256", doc("vrrp: {reservedVRIDs: [51, 256]}\n"), `vrrp.reservedVRIDs[1]: 256 is not a VRID; VRIDs are 1 to 255`},
		{"reserved VRID twice", doc("vrrp: {reservedVRIDs: [51, 51]}\n"), `vrrp.reservedVRIDs[1]: 51 is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.data)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error with the line\n%s", tc.want)
			}
			if c != nil {
				t.Errorf("Parse returned a config with the error")
			}
			lines := errLines(err)
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, tc.want)
			}
			if !found {
				t.Errorf("Parse error is\n%s\nwant a line starting with\n%s", err, tc.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"no pools", ""},
		{"single IPv4 address", pool("[198.51.100.7]", "")},
		{"single IPv6 address", pool(`["2001:db8::7"]`, "")},
		{"spaces around '-'", pool(`["198.51.100.10 - 198.51.100.20", "2001:db8::1 -2001:db8::5"]`, "")},
		{"range of one address", pool("[198.51.100.10-198.51.100.10]", "")},
		{"adjacent entries", pool("[192.0.2.0/28, 192.0.2.16-192.0.2.31, 192.0.2.32]", "")},
		{"adjacent pools", "pools:\n- {name: a, addresses: [192.0.2.0/25]}\n- {name: b, addresses: [192.0.2.128/25]}\n"},
		{"the whole IPv4 space", pool("[0.0.0.0/0]", "")},
		{"the whole IPv6 space and IPv4", pool(`["::/0", 192.0.2.0/24]`, "")},
		{"every mode", "pools:\n- {name: a, addresses: [192.0.2.0/28], mode: bgp}\n- {name: b, addresses: [192.0.2.16/28], mode: l2}\n- {name: c, addresses: [192.0.2.32/28], mode: vrrp}\n"},
		{"autoAssign false", pool("[192.0.2.0/28]", "  autoAssign: false\n")},
		{"pool name of 63 characters", "pools: [{name: " + strings.Repeat("a", 63) + ", addresses: [192.0.2.0/28]}]\n"},
		{"namespaces", pool("[192.0.2.0/28]", "  namespaces: [default, team-a]\n")},
		{"nodeSelector with prefixes", pool("[192.0.2.0/28]", "  nodeSelector: {\"topology.kubernetes.io/zone\": eu-1a, node-role.kubernetes.io/edge: \"\"}\n")},
		{"interface of 15 characters", pool("[192.0.2.0/28]", "  interface: enp0s31f6.1000a\n")},
		{"well-known communities", pool("[192.0.2.0/28]", "  bgp: {communities: [no-export, no-advertise, no-export-subconfed, no-peer, \"65535:65535\", \"0:0\"]}\n")},
		{"large communities", pool("[192.0.2.0/28]", "  bgp: {largeCommunities: [\"4294967295:0:4294967295\"]}\n")},
		{"aggregationLength of the CIDR", pool("[192.0.2.0/28]", "  bgp: {aggregationLength: 28}\n")},
		{"aggregationLength longer than the CIDR", pool("[192.0.2.0/28]", "  bgp: {aggregationLength: 30}\n")},
		{"aggregationLength of an aligned range", pool("[192.0.2.16-192.0.2.47]", "  bgp: {aggregationLength: 28}\n")},
		{"aggregationLength 32", pool("[198.51.100.10-198.51.100.20]", "  bgp: {aggregationLength: 32}\n")},
		{"aggregationLength for IPv6", pool(`["2001:db8:1::/120"]`, "  bgp: {aggregationLength: 124}\n")},
		{"localPref with eBGP", pool("[192.0.2.0/28]", "  bgp: {localPref: 100}\n") + peer("")},
		{"pool names its peers", pool("[192.0.2.0/28]", "  bgp: {peers: [a]}\n") + peer("")},
		{"IPv6 peer with a zone", "bgp:\n  asn: 1\n  peers: [{name: a, address: \"fe80::1%eth0\", asn: 2}]\n"},
		{"peer asn 4294967295", "bgp:\n  asn: 4294967295\n  peers: [{name: a, address: 192.0.2.254, asn: 4294967295}]\n"},
		{"holdTime 3s", peer(", holdTime: 3s")},
		{"holdTime 65535s", peer(", holdTime: 65535s")},
		{"keepaliveTime just below holdTime", peer(", holdTime: 10s, keepaliveTime: 9s")},
		{"ebgpMultihop 255", peer(", ebgpMultihop: 255")},
		{"passwordSecret", peer(", passwordSecret: {name: floatlb-bgp, key: tor-a.password}")},
		{"listenPort 179", "bgp: {listenPort: 179}\n"},
		{"listenPort 65535", "bgp: {listenPort: 65535}\n"},
		{"asn without peers", "bgp: {asn: 64512}\n"},
		{"leaseDuration 1s", "l2: {leaseDuration: 1s}\n"},
		{"advertInterval 10ms", "vrrp: {advertInterval: 10ms}\n"},
		{"advertInterval 40.95s", "vrrp: {advertInterval: 40.95s}\n"},
		{"reserved VRIDs", "vrrp: {reservedVRIDs: [1, 51, 255]}\n"},
		{"nulls", "pools: null\nbgp: null\nl2: {leaseDuration: null}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustParse(t, doc(tc.body))
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	data := []byte(`apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [192.0.2.5/28, 198.51.100.10-198.51.100.20]
  mode: arp
- name: public
  addresses: ["198.51.100.15-198.51.100.30", "2001:db8::/32"]
  bgp: {peers: [tor-b]}
bgp:
  peers:
  - {name: tor-a, address: 192.0.2.254, asn: 64500, holdTime: 2s}
l2: {leaseDuration: 500ms}
`)
	want := []string{
		`pools[0].addresses[0]: "192.0.2.5/28" has host bits set; did you mean "192.0.2.0/28"?`,
		`pools[0].mode: "arp" is not a mode; use bgp, l2 or vrrp`,
		`pools[1].name: "public" is already the name of pools[0]`,
		`pools[1].bgp.peers[0]: "tor-b" is not the name of a peer of bgp.peers`,
		`pools[1].addresses[0]: "198.51.100.15-198.51.100.30" of pool "public" overlaps "198.51.100.10-198.51.100.20" (pools[0].addresses[1]) of pool "public"`,
		`bgp.asn: required when bgp.peers is set; use the announcers' AS number (1..4294967295)`,
		`bgp.peers[0].holdTime: "2s" is too short; BGP allows at least 3s`,
		`l2.leaseDuration: "500ms" is too short; use at least 1s`,
	}
	for range 3 { // the order is the same every time
		_, err := Parse(data)
		if diff := cmp.Diff(want, errLines(err)); diff != "" {
			t.Fatalf("errors mismatch (-want +got):\n%s", diff)
		}
		var joined interface{ Unwrap() []error }
		if !errors.As(err, &joined) || len(joined.Unwrap()) != len(want) {
			t.Errorf("error does not unwrap into %d errors", len(want))
		}
	}
}

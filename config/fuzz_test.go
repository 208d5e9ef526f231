package config

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// FuzzParse checks that Parse never panics and that a config it accepts
// survives encoding to YAML and parsing again unchanged. The seed corpus is
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(doc(""))
	f.Add(doc(`pools:
- {name: a, addresses: ["2001:db8::/64", 192.0.2.7], mode: l2, interface: eth0, namespaces: [default]}
- {name: b, addresses: [198.51.100.10 - 198.51.100.20], mode: vrrp, autoAssign: false, nodeSelector: {zone: a}}
- {name: c, addresses: [203.0.113.0/24], bgp: {peers: [x], communities: [no-export, "1:2"], largeCommunities: ["1:2:3"], aggregationLength: 28, localPref: 100}}
bgp: {asn: 1, listenPort: 179, peers: [{name: x, address: "fe80::1%eth0", asn: 2, holdTime: 9s, ebgpMultihop: 2}]}
vrrp: {advertInterval: 40.95s}
`))
	f.Add(doc("pools: [{name: a, addresses: [192.0.2.5/28]}]\nunknown: 1\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("parsing the marshalled config: %v\n%s", err, out)
		}
		if diff := cmp.Diff(c, again, addrComparer); diff != "" {
			t.Errorf("config changed through Marshal and Parse (-first +second):\n%s\n%s", diff, out)
		}
	})
}

package config

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		APIVersion: APIVersion,
		Kind:       Kind,
		Pools: []Pool{{
			Name:       "public",
			Addresses:  []string{"192.0.2.0/28", "198.51.100.10-198.51.100.20", "2001:db8:1::/120"},
			Mode:       ModeBGP,
			AutoAssign: new(true),
			Ranges: []Range{
				rng("192.0.2.0", "192.0.2.15"),
				rng("198.51.100.10", "198.51.100.20"),
				rng("2001:db8:1::", "2001:db8:1::ff"),
			},
		}},
		BGP: BGP{
			ASN:        64512,
			ListenPort: new(-1),
			Peers: []Peer{{
				Name:           "tor-a",
				Address:        "192.0.2.254",
				ASN:            64500,
				Port:           179,
				HoldTime:       Duration{90 * time.Second},
				KeepaliveTime:  Duration{30 * time.Second},
				PasswordSecret: &SecretKeyRef{Name: "floatlb-bgp", Key: "tor-a"},
				Addr:           netip.MustParseAddr("192.0.2.254"),
			}},
		},
		L2:   L2{LeaseDuration: Duration{4 * time.Second}},
		VRRP: VRRP{AdvertInterval: Duration{100 * time.Millisecond}, ReservedVRIDs: []int{255}},
	}
	got := mustParse(t, data)
	if diff := cmp.Diff(want, got, addrComparer); diff != "" {
		t.Errorf("Parse(testdata/example.yaml) mismatch (-want +got):\n%s", diff)
	}
}

func TestParseFillsRangesAndAddr(t *testing.T) {
	c := mustParse(t, doc(`
pools:
- name: p
  addresses: ["198.51.100.7", "198.51.100.8 - 198.51.100.9", "2001:db8::/127"]
bgp:
  asn: 64512
  peers: [{name: a, address: "2001:db8::1", asn: 64500}]
`))
	want := []Range{
		rng("198.51.100.7", "198.51.100.7"),
		rng("198.51.100.8", "198.51.100.9"),
		rng("2001:db8::", "2001:db8::1"),
	}
	if diff := cmp.Diff(want, c.Pools[0].Ranges, addrComparer); diff != "" {
		t.Errorf("Ranges mismatch (-want +got):\n%s", diff)
	}
	if got, want := c.BGP.Peers[0].Addr, netip.MustParseAddr("2001:db8::1"); got != want {
		t.Errorf("Addr = %v, want %v", got, want)
	}
}

func TestParseStructure(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string // the lines of the error
	}{
		{
			name: "unknown top-level field",
			data: doc("pool: []\n"),
			want: []string{`pool: unknown field`},
		},
		{
			name: "unknown field, other case",
			data: []byte("apiVersion: floatlb.io/v1alpha1\nKind: Config\n"),
			want: []string{`Kind: unknown field; did you mean "kind"?`},
		},
		{
			name: "unknown nested fields",
			data: doc(`
pools:
- name: a
  adresses: [192.0.2.0/28]
  bgp: {community: ["1:1"]}
bgp:
  peers: [{name: a, address: 192.0.2.1, asn: 1, password: x}]
l2: {lease: 4s}
`),
			want: []string{
				`pools[0].adresses: unknown field`,
				`pools[0].bgp.community: unknown field`,
				`bgp.peers[0].password: unknown field`,
				`l2.lease: unknown field`,
			},
		},
		{
			name: "wrong shapes",
			data: doc(`
pools:
- name: a
  addresses: 192.0.2.0/28
  autoAssign: "yes"
  nodeSelector: {zone: [a]}
  bgp: {aggregationLength: 1.5, localPref: -1}
bgp:
  asn: 4294967296
  peers: [{name: a, address: 192.0.2.1, asn: 1, port: "179", passwordSecret: x}]
vrrp: 3
`),
			want: []string{
				`pools[0].addresses: must be a list, not "192.0.2.0/28"`,
				`pools[0].autoAssign: must be true or false, not "yes"`,
				`pools[0].nodeSelector["zone"]: must be a string, not ["a"]`,
				`pools[0].bgp.localPref: -1 is out of range (0..4294967295)`,
				`pools[0].bgp.aggregationLength: must be a whole number, not 1.5`,
				`bgp.asn: 4294967296 is out of range (0..4294967295)`,
				`bgp.peers[0].port: must be a whole number, not "179"`,
				`bgp.peers[0].passwordSecret: must be a mapping, not "x"`,
				`vrrp: must be a mapping, not 3`,
			},
		},
		{
			name: "bad durations",
			data: doc(`
bgp:
  peers: [{name: a, address: 192.0.2.1, asn: 1, holdTime: 90, keepaliveTime: "30 s"}]
l2: {leaseDuration: 4 seconds}
vrrp: {advertInterval: [1]}
`),
			want: []string{
				`bgp.peers[0].holdTime: 90 is not a valid duration`,
				`bgp.peers[0].keepaliveTime: "30 s" is not a valid duration`,
				`l2.leaseDuration: "4 seconds" is not a valid duration`,
				`vrrp.advertInterval: [1] is not a valid duration`,
			},
		},
		{
			name: "not a mapping",
			data: []byte("- a\n"),
			want: []string{`the config must be a mapping with apiVersion, kind and pools, not ["a"]`},
		},
		{
			name: "duplicate key",
			data: doc("pools: []\npools: []\n"),
			want: []string{`parsing YAML: yaml: unmarshal errors:`, `  line 4: key "pools" already set in map`},
		},
		{
			name: "not YAML",
			data: []byte("pools: [\n"),
			want: []string{`parsing YAML: yaml: line 1: did not find expected node content`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.data)
			if c != nil {
				t.Errorf("Parse returned a config with the error")
			}
			if diff := cmp.Diff(tc.want, errLines(err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCoercesScalarsToStrings(t *testing.T) {
	// YAML reads 7 and true as a number and a boolean; where the schema wants
	// a string, they are taken as written.
	c := mustParse(t, doc(`
pools:
- name: 7
  addresses: [192.0.2.0/28]
  nodeSelector: {enabled: true}
`))
	if got := c.Pools[0].Name; got != "7" {
		t.Errorf("name = %q, want %q", got, "7")
	}
	if got := c.Pools[0].NodeSelector["enabled"]; got != "true" {
		t.Errorf(`nodeSelector["enabled"] = %q, want %q`, got, "true")
	}
}

func TestLoad(t *testing.T) {
	example, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    map[string]string
		pools   int
		wantErr string
	}{
		{name: "example", data: map[string]string{ConfigKey: string(example)}, pools: 1},
		{name: "other keys are ignored", data: map[string]string{ConfigKey: string(doc("")), "README": "x"}},
		{name: "no key", data: map[string]string{"config.yml": string(example)}, wantErr: `the ConfigMap has no key "config.yaml"`},
		{name: "nil data", wantErr: `the ConfigMap has no key "config.yaml"`},
		{name: "empty document", data: map[string]string{ConfigKey: ""}, wantErr: `apiVersion: required`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(c.Pools) != tc.pools {
				t.Errorf("Load gave %d pools, want %d", len(c.Pools), tc.pools)
			}
		})
	}
}

func TestParseDocuments(t *testing.T) {
	const one = "apiVersion: floatlb.io/v1alpha1\nkind: Config\n"
	tests := []struct {
		name    string
		data    string
		wantErr bool
	}{
		{name: "one document", data: one},
		{name: "leading marker", data: "---\n" + one},
		{name: "leading marker after comments", data: "# floatlb\n\n---\n" + one},
		{name: "directive and marker", data: "%YAML 1.1\n---\n" + one},
		{name: "trailing marker", data: one + "---\n"},
		{name: "trailing empty document", data: one + "---\n# nothing\n---\n"},
		{name: "end marker", data: one + "...\n"},
		{name: "end marker with a comment", data: one + "... # end\n"},
		{name: "document after an end marker", data: one + "...\npools: []\n", wantErr: true},
		{name: "marker in a block scalar", data: one + "pools: []\nx: |\n  ---\n  a\n"},
		{name: "marker-like text", data: one + "---x: 1\n"},
		{name: "two documents", data: one + "---\npools: []\n", wantErr: true},
		{name: "second document after a marker with content", data: "--- {apiVersion: floatlb.io/v1alpha1, kind: Config}\n--- {}\n", wantErr: true},
		{name: "second document, CRLF", data: strings.ReplaceAll(one+"---\nkind: Other\n", "\n", "\r\n"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			const msg = "the config holds more than one YAML document; keep only the floatlb config"
			if got := err != nil && err.Error() == msg; got != tc.wantErr {
				t.Errorf("Parse error = %v; want the error %q: %v", err, msg, tc.wantErr)
			}
		})
	}
}

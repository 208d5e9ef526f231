package lab

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The outputs are from iputils arping 20221126, ndisc6 1.0.5 and iproute2
// 6.1.
func TestParseARPing(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{{
		name: "one host",
		in: `ARPING 192.0.2.2 from 192.0.2.1 eth0
Unicast reply from 192.0.2.2 [86:0B:A0:F4:0B:46]  0.556ms
Unicast reply from 192.0.2.2 [86:0B:A0:F4:0B:46]  0.553ms
Sent 2 probes (2 broadcast(s))
Received 2 response(s)
`,
		want: []string{"86:0b:a0:f4:0b:46", "86:0b:a0:f4:0b:46"},
	}, {
		name: "two hosts",
		in: `ARPING 198.19.20.7 from 192.0.2.100 eth0
Unicast reply from 198.19.20.7 [02:FB:00:00:02:0B]  0.612ms
Unicast reply from 198.19.20.7 [02:FB:00:00:02:0C]  0.701ms
Sent 1 probes (1 broadcast(s))
Received 2 response(s)
`,
		want: []string{"02:fb:00:00:02:0b", "02:fb:00:00:02:0c"},
	}, {
		name: "broadcast reply",
		in: `ARPING 192.0.2.2 from 192.0.2.1 eth0
Broadcast reply from 192.0.2.2 [02:FB:00:00:02:0B]  1.010ms
`,
		want: []string{"02:fb:00:00:02:0b"},
	}, {
		name: "nobody",
		in: `ARPING 192.0.2.9 from 192.0.2.1 eth0
Sent 2 probes (2 broadcast(s))
Received 0 response(s)
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseARPing([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, macStrings(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNDisc(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{{
		name: "one host",
		in: `Soliciting 2001:db8::2 (2001:db8::2) on eth0...
Target link-layer address: 86:0B:A0:F4:0B:46
 from 2001:db8::2
`,
		want: []string{"86:0b:a0:f4:0b:46"},
	}, {
		name: "two hosts",
		in: `Soliciting 2001:db8:200::7 (2001:db8:200::7) on eth0...
Target link-layer address: 02:FB:00:00:02:0B
 from 2001:db8:200::7
Target link-layer address: 02:FB:00:00:02:0D
 from 2001:db8:200::7
`,
		want: []string{"02:fb:00:00:02:0b", "02:fb:00:00:02:0d"},
	}, {
		name: "nobody",
		in: `Soliciting 2001:db8::9 (2001:db8::9) on eth0...
Timed out.
No response.
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNDisc([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, macStrings(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNeighbor(t *testing.T) {
	out := []byte(`[{"dst":"198.19.20.7","lladdr":"02:fb:00:00:02:0c","state":["STALE"]},` +
		`{"dst":"198.19.20.8","state":["INCOMPLETE"]},` +
		`{"dst":"2001:db8:200::7","lladdr":"02:fb:00:00:02:0b","state":["REACHABLE"]}]`)
	for _, tc := range []struct {
		ip   string
		want string
	}{
		{"198.19.20.7", "02:fb:00:00:02:0c"},
		{"198.19.20.8", ""}, // no address yet
		{"198.19.20.9", ""}, // no entry
		{"2001:db8:200::7", "02:fb:00:00:02:0b"},
	} {
		got, err := parseNeighbor(out, netip.MustParseAddr(tc.ip))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != tc.want {
			t.Errorf("neighbour %s: %q, want %q", tc.ip, got, tc.want)
		}
	}
	if _, err := parseNeighbor([]byte(`not json`), netip.MustParseAddr("198.19.20.7")); err == nil {
		t.Error("parseNeighbor(not json): no error")
	}
}

func TestParseAddrs(t *testing.T) {
	out := []byte(`[{"ifindex":2,"ifname":"eth0","address":"02:fb:00:00:02:0b","addr_info":[` +
		`{"family":"inet","local":"192.0.2.11","prefixlen":24,"scope":"global","label":"eth0"},` +
		`{"family":"inet6","local":"2001:db8:2::11","prefixlen":64,"scope":"global","nodad":true},` +
		`{"family":"inet6","local":"fe80::fb:ff:fe00:20b","prefixlen":64,"scope":"link"}]}]`)
	got, err := parseAddrs(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.11/24"),
		netip.MustParsePrefix("2001:db8:2::11/64"),
		netip.MustParsePrefix("fe80::fb:ff:fe00:20b/64"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`not json`, `[{"addr_info":[{"local":"192.0.2.300","prefixlen":24}]}]`, `[{"addr_info":[{"local":"192.0.2.1","prefixlen":33}]}]`} {
		if _, err := parseAddrs([]byte(bad)); err == nil {
			t.Errorf("parseAddrs(%s): no error", bad)
		}
	}
}

func macStrings(macs []net.HardwareAddr) []string {
	var out []string
	for _, m := range macs {
		out = append(out, m.String())
	}
	return out
}

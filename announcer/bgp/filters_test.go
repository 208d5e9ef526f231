package bgp

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		first, last string
		want        []string
	}{
		{"192.0.2.0", "192.0.2.255", []string{"192.0.2.0/24"}},
		{"198.51.100.10", "198.51.100.20", []string{"198.51.100.10/31", "198.51.100.12/30", "198.51.100.16/30", "198.51.100.20/32"}},
		{"203.0.113.7", "203.0.113.7", []string{"203.0.113.7/32"}},
		{"0.0.0.0", "255.255.255.255", []string{"0.0.0.0/0"}},
		{"2001:db8::1", "2001:db8::4", []string{"2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/128"}},
	}
	for _, tc := range tests {
		t.Run(tc.first+"-"+tc.last, func(t *testing.T) {
			var got []string
			for _, p := range RangePrefixes(netip.MustParseAddr(tc.first), netip.MustParseAddr(tc.last)) {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("RangePrefixes (-want +got):\n%s", diff)
			}
		})
	}
}

package config

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    Range
		wantErr string
	}{
		{in: "192.0.2.0/28", want: rng("192.0.2.0", "192.0.2.15")},
		{in: "192.0.2.7/32", want: rng("192.0.2.7", "192.0.2.7")},
		{in: "198.18.0.0/15", want: rng("198.18.0.0", "198.19.255.255")},
		{in: "0.0.0.0/0", want: rng("0.0.0.0", "255.255.255.255")},
		{in: "2001:db8:1::/120", want: rng("2001:db8:1::", "2001:db8:1::ff")},
		{in: "2001:db8::/33", want: rng("2001:db8::", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff")},
		{in: "::/0", want: rng("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")},
		{in: "198.51.100.10-198.51.100.20", want: rng("198.51.100.10", "198.51.100.20")},
		{in: " 198.51.100.10 -  198.51.100.20 ", want: rng("198.51.100.10", "198.51.100.20")},
		{in: "2001:db8::1-2001:db8::1:0", want: rng("2001:db8::1", "2001:db8::1:0")},
		{in: "198.51.100.7", want: rng("198.51.100.7", "198.51.100.7")},
		{in: "2001:db8::7", want: rng("2001:db8::7", "2001:db8::7")},
		{in: "192.0.2.5/28", wantErr: `"192.0.2.5/28" has host bits set; did you mean "192.0.2.0/28"?`},
		{in: "192.0.2.0/", wantErr: `"192.0.2.0/" is not a valid CIDR`},
		{in: "1-2", wantErr: `"1-2" is not a valid range: "1" is not an IP address`},
		{in: "192.0.2.1-192.0.2.2-192.0.2.3", wantErr: `"192.0.2.1-192.0.2.2-192.0.2.3" is not a valid range: "192.0.2.2-192.0.2.3" is not an IP address`},
		{in: "192.0.2.2-192.0.2.1", wantErr: `"192.0.2.2-192.0.2.1" is not a valid range: it starts after it ends`},
		{in: "2001:db8::1-192.0.2.1", wantErr: `"2001:db8::1-192.0.2.1" is not a valid range: it mixes IPv4 and IPv6`},
		{in: "fe80::1%eth0-fe80::2%eth0", wantErr: `"fe80::1%eth0-fe80::2%eth0" is not a valid range: "fe80::1%eth0" has a zone; pool addresses can't have one`},
		{in: "", wantErr: `"" is not a valid IP address, CIDR or range`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRange(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseRange(%q) error = %v, want %s", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got, addrComparer); diff != "" {
				t.Errorf("ParseRange(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestRangeContains(t *testing.T) {
	v4 := rng("198.51.100.10", "198.51.100.20")
	v6 := rng("2001:db8::", "2001:db8::ff")
	tests := []struct {
		r    Range
		a    string
		want bool
	}{
		{v4, "198.51.100.10", true},
		{v4, "198.51.100.15", true},
		{v4, "198.51.100.20", true},
		{v4, "198.51.100.9", false},
		{v4, "198.51.100.21", false},
		{v4, "::ffff:198.51.100.15", false},
		{v6, "2001:db8::", true},
		{v6, "2001:db8::ff", true},
		{v6, "2001:db8::100", false},
		{v6, "2001:db8::1%eth0", false},
		{v6, "198.51.100.15", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v in %v", tc.a, tc.r), func(t *testing.T) {
			if got := tc.r.Contains(netip.MustParseAddr(tc.a)); got != tc.want {
				t.Errorf("Contains = %v, want %v", got, tc.want)
			}
		})
	}
	if v4.Contains(netip.Addr{}) {
		t.Errorf("a range contains the zero Addr")
	}
}

func TestRangeIs6AndString(t *testing.T) {
	tests := []struct {
		r       Range
		is6     bool
		wantStr string
	}{
		{rng("192.0.2.0", "192.0.2.15"), false, "192.0.2.0-192.0.2.15"},
		{rng("192.0.2.7", "192.0.2.7"), false, "192.0.2.7"},
		{rng("2001:db8::", "2001:db8::ff"), true, "2001:db8::-2001:db8::ff"},
	}
	for _, tc := range tests {
		t.Run(tc.wantStr, func(t *testing.T) {
			if got := tc.r.Is6(); got != tc.is6 {
				t.Errorf("Is6 = %v, want %v", got, tc.is6)
			}
			if got := tc.r.String(); got != tc.wantStr {
				t.Errorf("String = %q, want %q", got, tc.wantStr)
			}
		})
	}
}

// TestOverlapsManyEntries checks that the overlap check copes with many
// entries and huge ranges: it sorts the entries and never walks addresses.
func TestOverlapsManyEntries(t *testing.T) {
	var b strings.Builder
	b.WriteString("pools:\n- name: big\n  addresses: [\"2001:db8::/32\", 198.18.0.0/15\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "    , 10.%d.%d.0/24\n", i/256, i%256)
	}
	b.WriteString("    , \"2001:db8:ffff::-2001:db8:ffff::1\"]\n")
	_, err := Parse(doc(b.String()))
	want := []string{`pools[0].addresses[20002]: "2001:db8:ffff::-2001:db8:ffff::1" overlaps "2001:db8::/32" (pools[0].addresses[0]) of the same pool`}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

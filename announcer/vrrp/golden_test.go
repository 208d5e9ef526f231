package vrrp

import (
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// capture is a file of adverts that a real VRRP router sent, as
// TestCaptureKeepalived records them.
type capture struct {
	// Source names the sender and how it ran.
	Source string `json:"source"`
	// Config is the sender's configuration.
	Config  string           `json:"config"`
	Adverts []capturedAdvert `json:"adverts"`
}

type capturedAdvert struct {
	Src netip.Addr `json:"src"`
	Dst netip.Addr `json:"dst"`
	TTL int        `json:"ttl"`
	// Hex is the VRRP message, the IP payload.
	Hex string `json:"hex"`
}

func readCapture(t *testing.T, name string) capture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(c.Adverts) == 0 {
		t.Fatalf("%s holds no adverts", name)
	}
	return c
}

// TestParseKeepalived parses adverts that keepalived sent (see
// keepalivedConfig), checks what they say, and that Marshal writes the
// very same bytes.
func TestParseKeepalived(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Advert // Priority is the running one; 0 is also accepted (shutdown)
	}{{
		file: "keepalived-ipv4.json",
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 150, MaxAdvertInterval: time.Second,
			Addresses: addrs("192.0.2.100", "192.0.2.101", "192.0.2.102")},
	}, {
		file: "keepalived-ipv6.json",
		want: Advert{Version: 3, Type: 1, VRID: 52, Priority: 200, MaxAdvertInterval: 500 * time.Millisecond,
			Addresses: addrs("fe80::1:34", "2001:db8::100", "2001:db8::101")},
	}} {
		t.Run(tc.file, func(t *testing.T) {
			c := readCapture(t, tc.file)
			var zero int
			for i, ca := range c.Adverts {
				b, err := hex.DecodeString(ca.Hex)
				if err != nil {
					t.Fatal(err)
				}
				if err := CheckTTL(ca.TTL); err != nil {
					t.Errorf("advert %d: %v", i, err)
				}
				got, err := Parse(b, ca.Src, ca.Dst)
				if err != nil {
					t.Fatalf("advert %d: %v", i, err)
				}
				want := tc.want
				if got.Priority == 0 {
					zero++
					want.Priority = 0
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
					t.Errorf("advert %d (-want +got):\n%s", i, diff)
				}
				again, err := got.Marshal(ca.Src, ca.Dst)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(b, again); diff != "" {
					t.Errorf("advert %d: Marshal differs from keepalived's bytes (-keepalived +ours):\n%s", i, diff)
				}
			}
			if zero == 0 {
				t.Errorf("no priority 0 advert from keepalived's shutdown in %s", tc.file)
			}
		})
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

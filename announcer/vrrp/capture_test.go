package vrrp

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// keepalivedConfig runs one IPv4 and one IPv6 VRRPv3 instance on eth0;
// TestParseKeepalived expects what it says.
const keepalivedConfig = `global_defs {
  router_id floatlb-capture
  vrrp_version 3
}
vrrp_instance v4 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/32
    192.0.2.101/32
    192.0.2.102/32
  }
}
vrrp_instance v6 {
  native_ipv6
  state MASTER
  interface eth0
  virtual_router_id 52
  priority 200
  advert_int 0.5
  virtual_ipaddress {
    fe80::1:34/64
    2001:db8::100/128
    2001:db8::101/128
  }
}
`

// TestCaptureKeepalived runs keepalived in a network namespace, records
// the adverts it sends (three while master, then its priority 0 adverts on
// SIGTERM) from a second namespace, and writes them to
// testdata/keepalived-ipv4.json and keepalived-ipv6.json. It runs only
// with FLOATLB_CAPTURE_KEEPALIVED=1.
func TestCaptureKeepalived(t *testing.T) {
	if os.Getenv("FLOATLB_CAPTURE_KEEPALIVED") != "1" {
		t.Skip("set FLOATLB_CAPTURE_KEEPALIVED=1 to record keepalived's adverts into testdata/")
	}
	keepalived, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("needs keepalived")
	}
	l := newLab(t)
	l.node("ka", "192.0.2.1/24", "2001:db8::1/64")
	l.node("cap", "192.0.2.2/24", "2001:db8::2/64")

	var c4 *ipv4.PacketConn
	var c6 *ipv6.PacketConn
	err = l.inNetns("cap", func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		p4, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		c4 = ipv4.NewPacketConn(p4)
		if err := c4.JoinGroup(ifi, &net.IPAddr{IP: GroupIPv4.AsSlice()}); err != nil {
			return err
		}
		if err := c4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst, true); err != nil {
			return err
		}
		p6, err := net.ListenPacket("ip6:112", "::")
		if err != nil {
			return err
		}
		c6 = ipv6.NewPacketConn(p6)
		if err := c6.JoinGroup(ifi, &net.IPAddr{IP: GroupIPv6.AsSlice()}); err != nil {
			return err
		}
		return c6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true)
	})
	if err != nil {
		t.Fatalf("opening capture sockets: %v", err)
	}
	defer c4.Close()
	defer c6.Close()

	conf := filepath.Join(l.dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(keepalivedConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ka := l.start("ka", keepalived, "--dont-fork", "--log-console", "--log-detail", "--vrrp",
		"-f", conf, "-p", filepath.Join(l.dir, "k.pid"), "-r", filepath.Join(l.dir, "v.pid"))

	var mu sync.Mutex
	got := map[int][]capturedAdvert{}
	running := func(family int) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range got[family] {
			if a.Hex[4:6] != "00" { // priority byte
				n++
			}
		}
		return n
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b := make([]byte, 1500)
		for {
			n, cm, src, err := c4.ReadFrom(b)
			if err != nil {
				return
			}
			mu.Lock()
			got[4] = append(got[4], capturedAdvert{Src: netip.MustParseAddr(src.(*net.IPAddr).IP.String()),
				Dst: mustAddr(cm.Dst), TTL: cm.TTL, Hex: hex.EncodeToString(b[:n])})
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		b := make([]byte, 1500)
		for {
			n, cm, src, err := c6.ReadFrom(b)
			if err != nil {
				return
			}
			mu.Lock()
			got[6] = append(got[6], capturedAdvert{Src: mustAddr(src.(*net.IPAddr).IP),
				Dst: mustAddr(cm.Dst), TTL: cm.HopLimit, Hex: hex.EncodeToString(b[:n])})
			mu.Unlock()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for running(4) < 3 || running(6) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("keepalived sent %d IPv4 and %d IPv6 adverts in 30s; its log:\n%s", running(4), running(6), ka.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = ka.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(3 * time.Second)
	_ = c4.Close()
	_ = c6.Close()
	wg.Wait()
	t.Logf("keepalived's log:\n%s", ka.out)

	version, _ := exec.Command(keepalived, "--version").CombinedOutput()
	source := strings.SplitN(string(version), "\n", 2)[0] + ", run by TestCaptureKeepalived (FLOATLB_CAPTURE_KEEPALIVED=1)"
	for family, file := range map[int]string{4: "keepalived-ipv4.json", 6: "keepalived-ipv6.json"} {
		b, err := json.MarshalIndent(capture{Source: source, Config: keepalivedConfig, Adverts: got[family]}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", file), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d adverts to testdata/%s", len(got[family]), file)
	}
}

func mustAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		panic(fmt.Sprintf("bad address %v", ip))
	}
	return a.Unmap()
}

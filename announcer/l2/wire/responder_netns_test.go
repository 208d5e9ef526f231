package wire

import (
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	arpingReply = regexp.MustCompile(`reply from (\S+) \[([0-9A-Fa-f:]+)\]`)
	ndisc6Reply = regexp.MustCompile(`Target link-layer address: ([0-9A-Fa-f:]+)`)
)

// arping asks for ip three times from the client and returns the MACs of the replies.
func (l *lab) arping(t *testing.T, ip string) []string {
	t.Helper()
	out, _ := try(l.client, 30*time.Second, "arping", "-c", "3", "-w", "4", "-I", "eth0", ip)
	var macs []string
	for _, m := range arpingReply.FindAllStringSubmatch(out, -1) {
		macs = append(macs, strings.ToLower(m[2]))
	}
	t.Logf("arping %s:\n%s", ip, out)
	return macs
}

// ndisc6 solicits ip from the client and returns the MACs advertised (all of them: -m).
func (l *lab) ndisc6(t *testing.T, ip string) []string {
	t.Helper()
	out, _ := try(l.client, 30*time.Second, "ndisc6", "-m", "-r", "3", "-w", "1000", ip, "eth0")
	var macs []string
	for _, m := range ndisc6Reply.FindAllStringSubmatch(out, -1) {
		macs = append(macs, strings.ToLower(m[1]))
	}
	t.Logf("ndisc6 %s:\n%s", ip, out)
	return macs
}

func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s (Debian package %s)", name, pkg)
	}
}

func TestNetnsAnswers(t *testing.T) {
	l := newLab(t)
	r := listenIn(t, l.node, Options{Repeats: []time.Duration{}, Observer: logObserver{t}})
	vip4, vip6 := "192.0.2.10", "2001:db8::10"
	if err := r.SetOwned([]netip.Addr{netip.MustParseAddr(vip4), netip.MustParseAddr(vip6)}); err != nil {
		t.Fatalf("SetOwned: %v", err)
	}
	ours := l.nodeMAC.String()

	t.Run("arping gets replies from our MAC only", func(t *testing.T) {
		needTool(t, "arping", "iputils-arping")
		if diff := cmp.Diff([]string{ours, ours, ours}, l.arping(t, vip4)); diff != "" {
			t.Errorf("arping %s (-want +got):\n%s", vip4, diff)
		}
		if got := l.arping(t, "192.0.2.99"); len(got) != 0 {
			t.Errorf("arping for an address not owned got replies from %v", got)
		}
	})
	t.Run("ndisc6 gets our MAC", func(t *testing.T) {
		needTool(t, "ndisc6", "ndisc6")
		if diff := cmp.Diff([]string{ours}, l.ndisc6(t, vip6)); diff != "" {
			t.Errorf("ndisc6 %s (-want +got):\n%s", vip6, diff)
		}
		if got := l.ndisc6(t, "2001:db8::99"); len(got) != 0 {
			t.Errorf("ndisc6 for an address not owned got advertisements from %v", got)
		}
	})
	t.Run("nothing answered after SetOwned(nil)", func(t *testing.T) {
		needTool(t, "arping", "iputils-arping")
		needTool(t, "ndisc6", "ndisc6")
		if err := r.SetOwned(nil); err != nil {
			t.Fatalf("SetOwned(nil): %v", err)
		}
		if got := l.arping(t, vip4); len(got) != 0 {
			t.Errorf("arping %s after giving it up got replies from %v", vip4, got)
		}
		if got := l.ndisc6(t, vip6); len(got) != 0 {
			t.Errorf("ndisc6 %s after giving it up got advertisements from %v", vip6, got)
		}
	})
}

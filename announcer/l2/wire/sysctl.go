package wire

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// IPVSInterface is the dummy interface on which kube-proxy in IPVS mode puts every Service IP.
const IPVSInterface = "kube-ipvs0"

// procConf is where the kernel exposes per-interface IPv4 settings.
const procConf = "/proc/sys/net/ipv4/conf"

// ARPIgnore returns the effective arp_ignore of the interface named ifname: the larger of
// net.ipv4.conf.all.arp_ignore and net.ipv4.conf.<ifname>.arp_ignore. Below 1, the kernel
// answers ARP on ifname for addresses held by other interfaces, such as the Service IPs on
// kube-ipvs0 (kube-proxy's strictARP sets it to 1).
func ARPIgnore(ifname string) (int, error) {
	return arpIgnore(procConf, ifname)
}

func arpIgnore(root, ifname string) (int, error) {
	if ifname == "" || strings.ContainsAny(ifname, "/") || ifname == "." || ifname == ".." {
		return 0, fmt.Errorf("reading arp_ignore: invalid interface name %q", ifname)
	}
	effective := 0
	for _, dir := range []string{"all", ifname} {
		p := filepath.Join(root, dir, "arp_ignore")
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", p, err)
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, fmt.Errorf("parsing %s: %w", p, err)
		}
		effective = max(effective, v)
	}
	return effective, nil
}

// HasIPVSInterface reports whether kube-ipvs0 exists, i.e. kube-proxy runs in IPVS mode.
func HasIPVSInterface() bool {
	_, err := net.InterfaceByName(IPVSInterface)
	return err == nil
}

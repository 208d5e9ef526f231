package controlplane

import (
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/floatlb/floatlb/announcer/bgp"
)

// The flags of control-plane mode.
const (
	flagVIP            = "control-plane-vip"
	flagMode           = "control-plane-mode"
	flagInterface      = "control-plane-interface"
	flagAPIServer      = "control-plane-apiserver"
	flagHealthInterval = "control-plane-health-interval"
	flagVRID           = "control-plane-vrid"
	flagPriority       = "control-plane-priority"
	flagAdvertInterval = "control-plane-advert-interval"
	flagLeaseNamespace = "control-plane-lease-namespace"
	flagLeaseName      = "control-plane-lease-name"
	flagLeaseDuration  = "control-plane-lease-duration"
	flagTLSServerName  = "control-plane-tls-server-name"
	flagASN            = "control-plane-bgp-asn"
	flagPeers          = "control-plane-bgp-peers"
	flagHoldTime       = "control-plane-bgp-hold-time"
)

// AddFlags registers the control-plane flags on fs, writing into o, whose
// values are the defaults shown. --kubeconfig and --node-name are the
// announcer's own flags.
func AddFlags(fs *flag.FlagSet, o *Options) {
	fs.Func(flagVIP, "Control-plane mode: the API server's VIP, one address per family (198.51.100.5 or 198.51.100.5,2001:db8::5). Set, the announcer keeps this VIP instead of Service addresses.", func(s string) (err error) {
		o.VIPs, err = ParseVIPs(s)
		return err
	})
	fs.Func(flagMode, "Control-plane mode: vrrp (default; no API needed), l2 (a Lease through the local API server) or bgp (every healthy node advertises the VIP).", func(s string) error {
		o.Mode = Mode(s)
		return nil
	})
	fs.StringVar(&o.Interface, flagInterface, o.Interface, "Control-plane mode: the interface of the VIP (vrrp, l2) or facing the BGP peers; empty: the interface of the default route.")
	fs.StringVar(&o.APIServer, flagAPIServer, o.APIServer, "Control-plane mode: URL of this node's kube-apiserver; the VIP is held only while its /readyz answers ok.")
	fs.DurationVar(&o.HealthInterval, flagHealthInterval, o.HealthInterval, "Control-plane mode: how often the local /readyz is asked; 3 failures in a row give the VIP up, 2 successes take it back.")
	fs.Func(flagVRID, "Control-plane mode vrrp: the VRID, 1-255 (default 255; list another one in the ConfigMap's vrrp.reservedVRIDs so that Service instances keep clear of it).", setUint8(&o.VRID))
	fs.Func(flagPriority, "Control-plane mode vrrp: this node's priority, 1-254 (default 100); equal priorities keep the VIP where it is.", setUint8(&o.Priority))
	fs.DurationVar(&o.AdvertInterval, flagAdvertInterval, o.AdvertInterval, "Control-plane mode vrrp: the advert interval, a multiple of 10ms; a failover takes about 3.6 times it.")
	fs.StringVar(&o.LeaseNamespace, flagLeaseNamespace, o.LeaseNamespace, "Control-plane mode l2: namespace of the Lease.")
	fs.StringVar(&o.LeaseName, flagLeaseName, o.LeaseName, "Control-plane mode l2: name of the Lease whose holder answers for the VIP.")
	fs.DurationVar(&o.LeaseDuration, flagLeaseDuration, o.LeaseDuration, "Control-plane mode l2: the Lease's duration; a crashed holder's VIP moves after about this long.")
	fs.StringVar(&o.TLSServerName, flagTLSServerName, o.TLSServerName, "Control-plane mode l2: the name the local API server's certificate is checked for.")
	fs.Func(flagASN, "Control-plane mode bgp: this node's AS number (default 64512).", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 32)
		o.ASN = uint32(v)
		return err
	})
	fs.Func(flagPeers, "Control-plane mode bgp: the routers, ADDRESS:ASN[,...] (IPv6 in brackets: [2001:db8::1]:64500).", func(s string) (err error) {
		o.Peers, err = ParsePeers(s, o.HoldTime)
		return err
	})
	fs.DurationVar(&o.HoldTime, flagHoldTime, o.HoldTime, "Control-plane mode bgp: the hold time offered to the routers; a crashed node's route goes after it.")
}

// setUint8 parses a flag's value into dst.
func setUint8(dst *uint8) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseUint(s, 10, 8)
		*dst = uint8(v)
		return err
	}
}

// ParseVIPs parses a comma-separated list of addresses.
func ParseVIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ip, err := netip.ParseAddr(f)
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address", f)
		}
		out = append(out, ip.Unmap())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no address", s)
	}
	return out, nil
}

// ParsePeers parses ADDRESS:ASN[,...], IPv6 addresses in brackets; each
// peer gets holdTime (fixed up by Options when --control-plane-bgp-hold-time
// comes after the peers).
func ParsePeers(s string, holdTime time.Duration) ([]bgp.Peer, error) {
	var out []bgp.Peer
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i := strings.LastIndex(f, ":")
		if i < 0 {
			return nil, fmt.Errorf("peer %q: write ADDRESS:ASN, say 192.0.2.1:64500 or [2001:db8::1]:64500", f)
		}
		host, asn := f[:i], f[i+1:]
		if h, ok := strings.CutPrefix(host, "["); ok {
			if host, ok = strings.CutSuffix(h, "]"); !ok {
				return nil, fmt.Errorf("peer %q: an unclosed bracket", f)
			}
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("peer %q: %q is not an IP address", f, host)
		}
		if ip.Unmap().Is6() && !strings.HasPrefix(f, "[") {
			return nil, fmt.Errorf("peer %q: write an IPv6 address in brackets, [%s]:ASN", f, host)
		}
		n, err := strconv.ParseUint(asn, 10, 32)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("peer %q: %q is not an AS number", f, asn)
		}
		ip = ip.Unmap()
		out = append(out, bgp.Peer{Name: ip.String(), Address: ip, ASN: uint32(n), Port: 179, HoldTime: holdTime})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no peer", s)
	}
	return out, nil
}

// Complete finishes what the flags could not do in order: every peer gets
// the hold time.
func (o *Options) Complete() {
	for i := range o.Peers {
		o.Peers[i].HoldTime = o.HoldTime
		o.Peers[i].KeepaliveTime = o.HoldTime / 3
	}
}

// Args renders o as the flags that give it back, leaving out defaults and
// the other modes' flags; the static Pod manifest runs them.
func (o Options) Args() []string {
	d := NewOptions()
	var args []string
	add := func(name string, v, def any) {
		if v != def {
			args = append(args, fmt.Sprintf("--%s=%v", name, v))
		}
	}
	vips := make([]string, 0, len(o.VIPs))
	for _, ip := range o.VIPs {
		vips = append(vips, ip.String())
	}
	args = append(args, "--"+flagVIP+"="+strings.Join(vips, ","), "--"+flagMode+"="+string(o.Mode))
	add(flagInterface, o.Interface, d.Interface)
	add(flagAPIServer, o.APIServer, d.APIServer)
	add(flagHealthInterval, o.HealthInterval, d.HealthInterval)
	switch o.Mode {
	case ModeVRRP:
		add(flagVRID, o.VRID, d.VRID)
		add(flagPriority, o.Priority, d.Priority)
		add(flagAdvertInterval, o.AdvertInterval, d.AdvertInterval)
	case ModeL2:
		args = append(args, "--kubeconfig="+o.Kubeconfig)
		add(flagLeaseNamespace, o.LeaseNamespace, d.LeaseNamespace)
		add(flagLeaseName, o.LeaseName, d.LeaseName)
		add(flagLeaseDuration, o.LeaseDuration, d.LeaseDuration)
		add(flagTLSServerName, o.TLSServerName, d.TLSServerName)
	case ModeBGP:
		add(flagASN, o.ASN, d.ASN)
		peers := make([]string, 0, len(o.Peers))
		for _, p := range o.Peers {
			host := p.Address.String()
			if p.Address.Is6() {
				host = "[" + host + "]"
			}
			peers = append(peers, fmt.Sprintf("%s:%d", host, p.ASN))
		}
		args = append(args, "--"+flagPeers+"="+strings.Join(peers, ","))
		add(flagHoldTime, o.HoldTime, d.HoldTime)
	}
	return slices.Clip(args)
}

package controlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/floatlb/floatlb/announcer/bgp"
	"github.com/floatlb/floatlb/config"
)

// Mode is how the control-plane VIP is made reachable.
type Mode string

// The modes; ModeVRRP is the default: it needs no API server at all.
const (
	ModeVRRP Mode = "vrrp"
	ModeL2   Mode = "l2"
	ModeBGP  Mode = "bgp"
)

// Defaults of Options.
const (
	DefaultMode           = ModeVRRP
	DefaultAPIServer      = "https://127.0.0.1:6443"
	DefaultHealthInterval = 500 * time.Millisecond
	// DefaultVRID is the VRID that Service instances leave free unless the
	// ConfigMap's vrrp.reservedVRIDs says otherwise.
	DefaultVRID           = config.DefaultReservedVRID
	DefaultPriority       = 100
	DefaultAdvertInterval = time.Second
	DefaultLeaseNamespace = "kube-system"
	DefaultLeaseName      = "floatlb-control-plane"
	DefaultLeaseDuration  = 4 * time.Second
	// DefaultTLSServerName is the name kubeadm (and most installers) put
	// in every API server's serving certificate, whatever its address.
	DefaultTLSServerName = "kubernetes"
	DefaultASN           = 64512
	DefaultHoldTime      = 9 * time.Second
	// DefaultMetricsAddress keeps clear of the Service announcer's :7475
	// on the same node.
	DefaultMetricsAddress = ":7476"
)

// Options configure control-plane mode; NewOptions fills in the defaults.
type Options struct {
	// NodeName names this node in logs and holds the Lease in l2 mode.
	NodeName string
	// VIPs are the control-plane addresses, at most one per family.
	VIPs []netip.Addr
	Mode Mode
	// Interface carries the VIP (vrrp, l2) or faces the BGP peers; empty:
	// the interface of the default route.
	Interface string
	// APIServer is the local kube-apiserver's URL: its /readyz is the
	// node's health, and l2 mode takes its Lease there.
	APIServer string
	// HealthInterval is how often /readyz is asked.
	HealthInterval time.Duration

	// VRRP.
	VRID           uint8
	Priority       uint8
	AdvertInterval time.Duration

	// Layer 2. Kubeconfig gives the credentials (kubeadm: admin.conf, or
	// super-admin.conf on the first node while kubeadm init runs); its
	// server is replaced by APIServer, whose certificate must be valid for
	// TLSServerName.
	Kubeconfig     string
	LeaseNamespace string
	LeaseName      string
	LeaseDuration  time.Duration
	TLSServerName  string

	// BGP.
	ASN      uint32
	Peers    []bgp.Peer
	HoldTime time.Duration
}

// NewOptions returns the defaults.
func NewOptions() Options {
	return Options{
		Mode:           DefaultMode,
		APIServer:      DefaultAPIServer,
		HealthInterval: DefaultHealthInterval,
		VRID:           DefaultVRID,
		Priority:       DefaultPriority,
		AdvertInterval: DefaultAdvertInterval,
		LeaseNamespace: DefaultLeaseNamespace,
		LeaseName:      DefaultLeaseName,
		LeaseDuration:  DefaultLeaseDuration,
		TLSServerName:  DefaultTLSServerName,
		ASN:            DefaultASN,
		HoldTime:       DefaultHoldTime,
	}
}

// Validate reports every problem of o, naming the flag to fix. The node
// name is Run's to check: a manifest has none yet.
func (o Options) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if len(o.VIPs) == 0 {
		bad(flagVIP, "no address given: name the control-plane VIP, say 198.51.100.5 or 198.51.100.5,2001:db8::5")
	}
	var v4, v6 int
	for _, ip := range o.VIPs {
		if ip.Is4() {
			v4++
		} else {
			v6++
		}
		if !ip.IsGlobalUnicast() || ip.IsLinkLocalUnicast() {
			bad(flagVIP, "%s is not a unicast address a client can reach", ip)
		}
	}
	if v4 > 1 || v6 > 1 {
		bad(flagVIP, "give at most one address per family, not %v", o.VIPs)
	}
	switch o.Mode {
	case ModeVRRP, ModeL2, ModeBGP:
	default:
		bad(flagMode, "%q is not a mode; use vrrp, l2 or bgp", o.Mode)
	}
	if u, err := url.Parse(o.APIServer); err != nil || u.Scheme != "https" || u.Host == "" {
		bad(flagAPIServer, "%q is not an https URL of the local kube-apiserver, say %s", o.APIServer, DefaultAPIServer)
	}
	if o.HealthInterval < 100*time.Millisecond {
		bad(flagHealthInterval, "%v is too short; use at least 100ms", o.HealthInterval)
	}
	switch o.Mode {
	case ModeVRRP:
		if o.VRID == 0 {
			bad(flagVRID, "0 is not a VRID; VRIDs are 1 to 255")
		}
		if o.Priority == 0 || o.Priority == 255 {
			bad(flagPriority, "%d is reserved by RFC 5798; use 1 to 254", o.Priority)
		}
		if d := o.AdvertInterval; d < 10*time.Millisecond || d > 40950*time.Millisecond || d%(10*time.Millisecond) != 0 {
			bad(flagAdvertInterval, "%v is not a VRRPv3 interval: a multiple of 10ms from 10ms to 40.95s", d)
		}
	case ModeL2:
		if o.Kubeconfig == "" {
			bad("kubeconfig", "l2 mode takes its Lease through the local API server: name a kubeconfig with credentials (kubeadm: /etc/kubernetes/admin.conf)")
		}
		if o.LeaseDuration < time.Second {
			bad(flagLeaseDuration, "%v is too short; use at least 1s", o.LeaseDuration)
		}
		if o.LeaseNamespace == "" || o.LeaseName == "" {
			bad(flagLeaseName, "the Lease needs a namespace and a name")
		}
	case ModeBGP:
		if len(o.Peers) == 0 {
			bad(flagPeers, "bgp mode needs at least one peer, say 192.0.2.1:64500")
		}
		if o.ASN == 0 {
			bad(flagASN, "0 is not an AS number")
		}
		if o.HoldTime != 0 && (o.HoldTime < 3*time.Second || o.HoldTime%time.Second != 0) {
			bad(flagHoldTime, "%v is not a BGP hold time: whole seconds, at least 3s", o.HoldTime)
		}
	}
	return errors.Join(errs...)
}

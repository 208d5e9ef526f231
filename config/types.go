package config

import (
	"net/netip"
	"time"
)

// APIVersion and Kind identify a floatlb configuration document.
const (
	APIVersion = "floatlb.io/v1alpha1"
	Kind       = "Config"
)

// Defaults of the configuration schema; docs/config.md lists them too.
const (
	DefaultPeerPort       = 179
	DefaultHoldTime       = 90 * time.Second
	DefaultLeaseDuration  = 4 * time.Second
	DefaultAdvertInterval = time.Second
	// DefaultReservedVRID is the control-plane VIP's default VRID, which
	// vrrp.reservedVRIDs keeps from Service instances unless set.
	DefaultReservedVRID    = 255
	DefaultListenPort      = -1
	DefaultMode            = ModeBGP
	DefaultConfigNamespace = "floatlb-system"
	DefaultConfigName      = "floatlb-config"
	ConfigKey              = "config.yaml"
)

// Mode is how the announcer makes a pool's addresses reachable.
type Mode string

// The modes a pool can use.
const (
	ModeBGP  Mode = "bgp"
	ModeL2   Mode = "l2"
	ModeVRRP Mode = "vrrp"
)

// Config is the whole floatlb configuration, as stored in the ConfigMap
// floatlb-system/floatlb-config under the key config.yaml.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Pools      []Pool `json:"pools"`
	BGP        BGP    `json:"bgp"`
	L2         L2     `json:"l2"`
	VRRP       VRRP   `json:"vrrp"`
}

// Pool is a named set of addresses that Services get their IPs from.
type Pool struct {
	Name string `json:"name"`
	// Addresses as written: CIDRs ("192.0.2.0/28"), ranges ("198.51.100.10-198.51.100.20")
	// or single addresses ("198.51.100.7"); see ParseRange.
	Addresses []string `json:"addresses"`
	Mode      Mode     `json:"mode,omitempty"`
	// AutoAssign nil means true (the default).
	AutoAssign    *bool             `json:"autoAssign,omitempty"`
	AvoidBuggyIPs bool              `json:"avoidBuggyIPs,omitempty"`
	Namespaces    []string          `json:"namespaces,omitempty"`
	NodeSelector  map[string]string `json:"nodeSelector,omitempty"`
	Interface     string            `json:"interface,omitempty"`
	BGP           PoolBGP           `json:"bgp,omitempty"`

	// Ranges is Addresses parsed, in the order written. Filled by Parse; not part of the YAML.
	Ranges []Range `json:"-"`
}

// Range is an inclusive range of addresses of one family.
type Range struct {
	First, Last netip.Addr
}

// PoolBGP is how a bgp-mode pool's routes are advertised.
type PoolBGP struct {
	// Peers names peers of bgp.peers; empty means every peer.
	Peers            []string `json:"peers,omitempty"`
	Communities      []string `json:"communities,omitempty"`
	LargeCommunities []string `json:"largeCommunities,omitempty"`
	LocalPref        uint32   `json:"localPref,omitempty"`
	// AggregationLength 0 means host routes (/32, /128).
	AggregationLength int `json:"aggregationLength,omitempty"`
}

// BGP is the announcers' BGP speaker.
type BGP struct {
	ASN uint32 `json:"asn,omitempty"`
	// ListenPort -1 (the default) means dial out only, never listen.
	ListenPort *int   `json:"listenPort,omitempty"`
	Peers      []Peer `json:"peers,omitempty"`
}

// Peer is one BGP neighbour of every announcer whose node matches NodeSelector.
type Peer struct {
	Name           string            `json:"name"`
	Address        string            `json:"address"`
	ASN            uint32            `json:"asn"`
	Port           int               `json:"port,omitempty"`
	HoldTime       Duration          `json:"holdTime,omitempty"`
	KeepaliveTime  Duration          `json:"keepaliveTime,omitempty"`
	EBGPMultihop   int               `json:"ebgpMultihop,omitempty"`
	PasswordSecret *SecretKeyRef     `json:"passwordSecret,omitempty"`
	NodeSelector   map[string]string `json:"nodeSelector,omitempty"`

	// Addr is Address parsed. Filled by Parse.
	Addr netip.Addr `json:"-"`
}

// SecretKeyRef names a key of a Secret in the config namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// L2 configures Layer 2 (ARP/NDP) mode.
type L2 struct {
	LeaseDuration Duration `json:"leaseDuration,omitempty"`
}

// VRRP configures VRRP mode.
type VRRP struct {
	AdvertInterval Duration `json:"advertInterval,omitempty"`
	// ReservedVRIDs are VRIDs that no Service instance takes: the
	// control-plane VIP's (DefaultReservedVRID unless set) and those of
	// routers outside floatlb on the same links.
	ReservedVRIDs []int `json:"reservedVRIDs,omitempty"`
}

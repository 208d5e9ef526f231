package vrrp

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Claim is an address that nodes may hold by VRRP, as the planner gives
// it.
type Claim struct {
	IP netip.Addr
	// Interface is the resolved interface name, never empty.
	Interface string
	// EligibleNodes are the nodes that may hold IP.
	EligibleNodes []string
	// Services are the keys of the Services holding IP.
	Services []string
}

// Instance is one virtual router: the addresses of one family on one
// interface that the same nodes may hold.
type Instance struct {
	// Name is "<hash>-<interface>", "-v6" added for IPv6 and "-2", "-3"…
	// for the parts of a group of addresses too large for one advert.
	// <hash> is the first 8 hex digits of the SHA-256 of the comma-joined,
	// sorted node list, as OpenELB names its keepalived instances.
	Name      string
	Interface string
	IPv6      bool
	// VRID is derived from Name; see Instances for collisions.
	VRID uint8
	// Priority is this node's, by its rendezvous rank among Nodes for the
	// instance: 250, 200, 150, 100, 50, then 49, 48, … 1 (54 distinct
	// ranks), then 1.
	Priority uint8
	// LinkLocal is the virtual link-local address of an IPv6 instance,
	// fe80::1:<VRID> (VRID in the last 16 bits), which the adverts list
	// first (RFC 5798 §5.2.9); invalid for IPv4.
	LinkLocal netip.Addr
	// Addresses are the virtual addresses, sorted.
	Addresses []netip.Addr
	// Nodes are the nodes that run the instance, sorted.
	Nodes []string
	// Services are the keys of the Services holding Addresses, sorted.
	Services []string
}

// AdvertAddresses returns the addresses an advert lists: the virtual
// link-local address first for IPv6, then Addresses.
func (in Instance) AdvertAddresses() []netip.Addr {
	if !in.IPv6 {
		return in.Addresses
	}
	return append([]netip.Addr{in.LinkLocal}, in.Addresses...)
}

// Limits of an instance.
const (
	// MTU is the largest link MTU the split counts on. A link with a
	// larger one (jumbo frames) splits as at 1500, so that every node
	// splits alike whatever MTU above 1500 its interface has, and as nodes
	// did before they read the MTU; a smaller one splits smaller.
	MTU = 1500
	// MinMTUIPv6 is the least MTU of an IPv6 link (RFC 8200 §5).
	MinMTUIPv6 = 1280
	// MaxAddressesIPv4 is the most addresses of an IPv4 instance at MTU:
	// the 8-bit count, as 255 addresses fit 1500 bytes.
	MaxAddressesIPv4 = min(MaxAddresses, (MTU-20-HeaderLen)/4)
	// MaxAddressesIPv6 is the most addresses of an IPv6 instance at MTU
	// besides its virtual link-local address: (1500 - 40 - 8) / 16 - 1.
	MaxAddressesIPv6 = min(MaxAddresses, (MTU-40-HeaderLen)/16) - 1
)

// MaxAddressesAt returns the most addresses an instance of the family
// holds on a link of the given MTU, the virtual link-local address of an
// IPv6 instance not counted: as many as an advert with its IP header fits
// in min(mtu, MTU) bytes, at most 255. An mtu of 0 or less counts as MTU;
// an IPv6 mtu below MinMTUIPv6 as MinMTUIPv6.
func MaxAddressesAt(mtu int, v6 bool) int {
	if mtu <= 0 || mtu > MTU {
		mtu = MTU
	}
	if v6 {
		mtu = max(mtu, MinMTUIPv6)
		return min(MaxAddresses, (mtu-40-HeaderLen)/16) - 1
	}
	return max(1, min(MaxAddresses, (mtu-20-HeaderLen)/4))
}

// distinctRanks is how many rendezvous ranks get priorities of their own;
// the ranks beyond share priority 1.
const distinctRanks = 54

// rankPriority returns the priority of the node at rendezvous rank (0 is
// the first) of an instance: 250, 200, 150, 100, 50 for the first five,
// then 49, 48, … 1, so that the first distinctRanks ranks all differ, and 1
// beyond. Never above 250 (255 is the address owner's). The wide steps
// give the likely takeovers a Skew_Time apart by a fifth of the advert
// interval; the narrow ones still order backups (by interval / 256), so
// that two backups time out together only among ranks beyond
// distinctRanks, where the larger primary address wins (RFC 5798 §6.4.3).
func rankPriority(rank int) uint8 {
	switch {
	case rank < 0:
		return 0
	case rank < 5:
		return uint8(250 - 50*rank)
	case rank < distinctRanks:
		return uint8(49 - (rank - 5))
	default:
		return 1
	}
}

// ErrTooManyInstances: more than 255 instances of one family on one
// interface, so their VRIDs cannot differ.
var ErrTooManyInstances = errors.New("too many vrrp instances")

// Instances groups the claims into the instances that node runs, sorted
// by name.
//
// Claims with the same interface, family and set of eligible nodes share
// an instance; one whose addresses do not fit one advert on the
// interface's MTU (mtu, by interface name; a missing one counts as MTU;
// see MaxAddressesAt) splits in parts, by address. Nodes whose interfaces
// have different MTUs below 1500 split differently, and then disagree on
// the instances: an interface of one LAN has one MTU on every node. VRIDs are derived from the instance name; when two
// instances of one family on one interface would share one, the instance
// whose name sorts later takes the next free VRID. For every node to agree
// on VRIDs, give every node the same claims: those of other nodes only
// reserve their VRIDs, and only instances with node among their Nodes are
// returned. No instance takes a VRID of reserved (kept for the
// control-plane VIP or for routers outside floatlb); more instances of one
// family on an interface than VRIDs remain is an error wrapping
// ErrTooManyInstances.
func Instances(node string, claims []Claim, reserved []uint8, mtu map[string]int) ([]Instance, error) {
	type key struct {
		iface string
		v6    bool
		nodes string
	}
	groups := map[key][]Claim{}
	seen := map[netip.Addr]bool{}
	for _, c := range claims {
		ip := c.IP.Unmap()
		switch {
		case !ip.IsValid():
			return nil, fmt.Errorf("vrrp claim of interface %q has no address", c.Interface)
		case c.Interface == "":
			return nil, fmt.Errorf("vrrp claim of %s has no interface", ip)
		case len(c.EligibleNodes) == 0:
			return nil, fmt.Errorf("vrrp claim of %s has no eligible node", ip)
		case seen[ip]:
			return nil, fmt.Errorf("vrrp address %s is claimed twice", ip)
		}
		seen[ip] = true
		c.IP = ip
		c.EligibleNodes = sortedSet(c.EligibleNodes)
		k := key{c.Interface, ip.Is6(), strings.Join(c.EligibleNodes, ",")}
		groups[k] = append(groups[k], c)
	}

	var all []Instance
	for k, cs := range groups {
		slices.SortFunc(cs, func(a, b Claim) int { return a.IP.Compare(b.IP) })
		base := nameHash(k.nodes) + "-" + k.iface
		limit := MaxAddressesAt(mtu[k.iface], k.v6)
		if k.v6 {
			base += "-v6"
		}
		for part, chunk := range split(cs, limit) {
			if len(chunk) == 0 {
				continue
			}
			in := Instance{Name: base, Interface: k.iface, IPv6: k.v6, Nodes: chunk[0].EligibleNodes}
			if part > 0 {
				in.Name += "-" + strconv.Itoa(part+1)
			}
			var services []string
			for _, c := range chunk {
				in.Addresses = append(in.Addresses, c.IP)
				services = append(services, c.Services...)
			}
			in.Services = sortedSet(services)
			all = append(all, in)
		}
	}
	slices.SortFunc(all, func(a, b Instance) int {
		// Names differ unless 32 bits of SHA-256 collide; then the node
		// lists still order them the same on every node.
		return cmp.Or(cmp.Compare(a.Name, b.Name), slices.Compare(a.Nodes, b.Nodes))
	})
	if err := assignVRIDs(all, reserved); err != nil {
		return nil, err
	}

	var out []Instance
	for _, in := range all {
		rank := slices.Index(rendezvous(in.Name, in.Nodes), node)
		if rank < 0 {
			continue
		}
		in.Priority = rankPriority(rank)
		if in.IPv6 {
			in.LinkLocal = LinkLocal(in.VRID)
		}
		out = append(out, in)
	}
	return out, nil
}

// splitFill is how full, on average, the parts of a split group are: the
// slack keeps an address hashed to a full part rare.
const (
	splitFillNum = 3
	splitFillDen = 4
)

// split divides claims sorted by address into parts of at most limit
// addresses. A group that fits is one part. A larger one splits into
// enough parts to fill each three quarters on average, and each address
// goes to the part that ranks first by a hash of (address, part) and still
// has room, taken in address order. So the parts stay put when addresses
// come and go: an address joins or leaves without moving the others,
// unless it frees or fills a part's last place; only when the number of
// parts changes do about 1/parts of the addresses move. (Chunking by
// position moved most addresses of the group to another part, and so
// often another master, whenever a lower address went.) Every node splits
// the same claims alike.
func split(cs []Claim, limit int) [][]Claim {
	if len(cs) <= limit {
		return [][]Claim{cs}
	}
	n := (len(cs)*splitFillDen + limit*splitFillNum - 1) / (limit * splitFillNum)
	parts := make([][]Claim, n)
	order := make([]int, n)
	scores := make([]uint64, n)
	for _, c := range cs {
		h := addrHash(c.IP)
		for i := range order {
			order[i] = i
			scores[i] = mix(h ^ uint64(i+1)*0x9e3779b97f4a7c15)
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		for _, i := range order {
			if len(parts[i]) < limit {
				parts[i] = append(parts[i], c)
				break
			}
		}
	}
	return parts
}

// addrHash is a hash of ip that every node computes alike (FNV-1a).
func addrHash(ip netip.Addr) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range ip.AsSlice() {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

// mix is SplitMix64's finalizer: it spreads the bits of x.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// LinkLocal returns the virtual link-local address of an IPv6 instance
// with the given VRID: fe80::1:<vrid>.
func LinkLocal(vrid uint8) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 13: 1, 15: vrid})
}

// assignVRIDs gives each instance, sorted by name, the VRID its name
// hashes to, or the next free one of its interface and family, never one
// of reserved.
func assignVRIDs(all []Instance, reserved []uint8) error {
	type key struct {
		iface string
		v6    bool
	}
	var taken [256]bool
	free := MaxAddresses
	for _, v := range reserved {
		if v != 0 && !taken[v] {
			taken[v] = true
			free--
		}
	}
	used := map[key]*[256]bool{}
	count := map[key]int{}
	for _, in := range all {
		count[key{in.Interface, in.IPv6}]++
	}
	for k, n := range count {
		if n > free {
			family := "ipv4"
			if k.v6 {
				family = "ipv6"
			}
			return fmt.Errorf("%d %s vrrp instances on interface %q, but only %d VRIDs are free (255 less vrrp.reservedVRIDs): spread the addresses over fewer node sets or more interfaces: %w", n, family, k.iface, free, ErrTooManyInstances)
		}
	}
	for i := range all {
		k := key{all[i].Interface, all[i].IPv6}
		if used[k] == nil {
			used[k] = new([256]bool)
			*used[k] = taken
		}
		sum := sha256.Sum256([]byte(all[i].Name))
		v := int(binary.BigEndian.Uint32(sum[:4])%255) + 1
		for used[k][v] {
			v = v%255 + 1
		}
		used[k][v] = true
		all[i].VRID = uint8(v)
	}
	return nil
}

// rendezvous returns nodes ranked by the hash of (instance, node),
// highest first, ties by name.
func rendezvous(instance string, nodes []string) []string {
	score := func(n string) uint64 {
		sum := sha256.Sum256([]byte(instance + "\x00" + n))
		return binary.BigEndian.Uint64(sum[:8])
	}
	ranked := slices.Clone(nodes)
	slices.SortFunc(ranked, func(a, b string) int {
		return cmp.Or(cmp.Compare(score(b), score(a)), cmp.Compare(a, b))
	})
	return ranked
}

func nameHash(nodes string) string {
	sum := sha256.Sum256([]byte(nodes))
	return hex.EncodeToString(sum[:4])
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

package bgp

import (
	"fmt"
	"strconv"
	"strings"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Well-known communities (RFC 1997, RFC 3765).
var wellKnownCommunities = map[string]uint32{
	"no-export":           0xFFFFFF01,
	"no-advertise":        0xFFFFFF02,
	"no-export-subconfed": 0xFFFFFF03,
	"no-peer":             0xFFFFFF04,
}

func family(r Route) *api.Family {
	if r.Prefix.Addr().Is4() {
		return &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	}
	return &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
}

// pathOf builds the GoBGP path that advertises r. IPv4 routes carry a
// NEXT_HOP attribute; IPv6 routes carry their next hop in MP_REACH_NLRI.
func pathOf(r Route) (*api.Path, error) {
	if !r.Prefix.IsValid() || !r.NextHop.IsValid() || r.Prefix.Addr().Is4() != r.NextHop.Is4() {
		return nil, fmt.Errorf("route %s via %s: prefix and next hop must be valid and of one family", r.Prefix, r.NextHop)
	}
	nlri, err := anypb.New(&api.IPAddressPrefix{Prefix: r.Prefix.Masked().Addr().String(), PrefixLen: uint32(r.Prefix.Bits())})
	if err != nil {
		return nil, err
	}
	attrs := []proto.Message{&api.OriginAttribute{Origin: 0}} // IGP
	if r.Prefix.Addr().Is4() {
		attrs = append(attrs, &api.NextHopAttribute{NextHop: r.NextHop.String()})
	} else {
		attrs = append(attrs, &api.MpReachNLRIAttribute{Family: family(r), NextHops: []string{r.NextHop.String()}, Nlris: []*anypb.Any{nlri}})
	}
	if len(r.Communities) > 0 {
		c := &api.CommunitiesAttribute{}
		for _, s := range r.Communities {
			v, err := parseCommunity(s)
			if err != nil {
				return nil, err
			}
			c.Communities = append(c.Communities, v)
		}
		attrs = append(attrs, c)
	}
	if len(r.LargeCommunities) > 0 {
		c := &api.LargeCommunitiesAttribute{}
		for _, s := range r.LargeCommunities {
			v, err := parseLargeCommunity(s)
			if err != nil {
				return nil, err
			}
			c.Communities = append(c.Communities, v)
		}
		attrs = append(attrs, c)
	}
	if r.LocalPref > 0 {
		attrs = append(attrs, &api.LocalPrefAttribute{LocalPref: r.LocalPref})
	}
	p := &api.Path{Family: family(r), Nlri: nlri}
	for _, a := range attrs {
		any, err := anypb.New(a)
		if err != nil {
			return nil, err
		}
		p.Pattrs = append(p.Pattrs, any)
	}
	return p, nil
}

func parseCommunity(s string) (uint32, error) {
	if v, ok := wellKnownCommunities[s]; ok {
		return v, nil
	}
	hi, lo, ok := strings.Cut(s, ":")
	a, err1 := strconv.ParseUint(hi, 10, 16)
	b, err2 := strconv.ParseUint(lo, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("community %q is not A:B with 16-bit parts", s)
	}
	return uint32(a)<<16 | uint32(b), nil
}

func parseLargeCommunity(s string) (*api.LargeCommunity, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("large community %q is not A:B:C", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("large community %q is not A:B:C with 32-bit parts", s)
		}
		v[i] = uint32(n)
	}
	return &api.LargeCommunity{GlobalAdmin: v[0], LocalData1: v[1], LocalData2: v[2]}, nil
}

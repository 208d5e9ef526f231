package config

import (
	"maps"
	"slices"
)

// validate reports every problem of c, which setDefaults has completed, and
// fills in Pool.Ranges and Peer.Addr. The order of the problems follows the
// document: header, pools, overlaps between addresses, bgp, l2, vrrp.
func validate(c *Config) error {
	var errs fieldErrors
	switch c.APIVersion {
	case APIVersion:
	case "":
		errs.add("apiVersion", "required; set it to %q", APIVersion)
	default:
		errs.add("apiVersion", "%q is not supported; use %q", c.APIVersion, APIVersion)
	}
	switch c.Kind {
	case Kind:
	case "":
		errs.add("kind", "required; set it to %q", Kind)
	default:
		errs.add("kind", "%q is not supported; use %q", c.Kind, Kind)
	}

	peers := make(map[string]bool, len(c.BGP.Peers))
	for _, p := range c.BGP.Peers {
		peers[p.Name] = true
	}
	names := make(map[string]int, len(c.Pools))
	var entries []entry
	for i := range c.Pools {
		p := &c.Pools[i]
		path := index("pools", i)
		switch j, dup := names[p.Name]; {
		case p.Name == "":
			errs.add(field(path, "name"), "required")
		case !isDNS1123Label(p.Name):
			errs.add(field(path, "name"), "%q is not a valid name; %s", p.Name, dnsLabelHint)
		case dup:
			errs.add(field(path, "name"), "%q is already the name of pools[%d]", p.Name, j)
		default:
			names[p.Name] = i
		}
		entries = append(entries, parseAddresses(&errs, i, p)...)
		validatePool(&errs, path, p, peers)
	}
	validateOverlaps(&errs, c.Pools, entries)

	validateBGP(&errs, &c.BGP)

	if d := c.L2.LeaseDuration.Duration; d < minLeaseDuration {
		errs.add("l2.leaseDuration", "%q is too short; use at least %v", d.String(), minLeaseDuration)
	}
	validateAdvertInterval(&errs, "vrrp.advertInterval", c.VRRP.AdvertInterval)
	validateVRIDs(&errs, "vrrp.reservedVRIDs", c.VRRP.ReservedVRIDs)
	return errs.err()
}

// parseAddresses fills in p.Ranges from p.Addresses, the p of pools[i], and
// returns the entries that parsed.
func parseAddresses(errs *fieldErrors, i int, p *Pool) []entry {
	path := field(index("pools", i), "addresses")
	if len(p.Addresses) == 0 {
		errs.add(path, "required; a pool needs at least one CIDR, range or address")
	}
	p.Ranges = nil
	var entries []entry
	for j, s := range p.Addresses {
		r, err := ParseRange(s)
		if err != nil {
			errs.add(index(path, j), "%v", err)
			continue
		}
		p.Ranges = append(p.Ranges, r)
		entries = append(entries, entry{pool: i, addr: j, r: r})
	}
	return entries
}

// validatePool checks the rest of pools[i] (path), after its name and
// addresses.
func validatePool(errs *fieldErrors, path string, p *Pool, peers map[string]bool) {
	switch p.Mode {
	case ModeBGP, ModeL2, ModeVRRP:
	default:
		errs.add(field(path, "mode"), "%q is not a mode; use %s, %s or %s", p.Mode, ModeBGP, ModeL2, ModeVRRP)
	}

	for j, ns := range p.Namespaces {
		if !isDNS1123Label(ns) {
			errs.add(index(field(path, "namespaces"), j), "%q is not a valid namespace name", ns)
		}
	}
	validateSelector(errs, field(path, "nodeSelector"), p.NodeSelector)
	if p.Interface != "" && !isInterfaceName(p.Interface) {
		errs.add(field(path, "interface"), "%q is not a valid interface name; use at most 15 characters, without '/', ':' or spaces", p.Interface)
	}
	validatePoolBGP(errs, field(path, "bgp"), p, peers)
}

// validateSelector checks a label selector: each key a valid label key, each
// value a valid label value.
func validateSelector(errs *fieldErrors, path string, sel map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(sel)) {
		if !isLabelKey(k) {
			errs.add(path, "%q is not a valid label key", k)
		}
		if v := sel[k]; !isLabelValue(v) {
			errs.add(key(path, k), "%q is not a valid label value", v)
		}
	}
}

// validateVRIDs checks a list of VRIDs: each 1 to 255, none twice.
func validateVRIDs(errs *fieldErrors, path string, vrids []int) {
	seen := map[int]bool{}
	for i, v := range vrids {
		switch {
		case v < 1 || v > 255:
			errs.add(index(path, i), "%d is not a VRID; VRIDs are 1 to 255", v)
		case seen[v]:
			errs.add(index(path, i), "%d is listed twice", v)
		}
		seen[v] = true
	}
}

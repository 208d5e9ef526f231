package config

import (
	"cmp"
	"slices"
)

// entry is one parsed address entry of a pool: pools[pool].addresses[addr].
type entry struct {
	pool, addr int
	r          Range
}

func (e entry) path() string {
	return index(field(index("pools", e.pool), "addresses"), e.addr)
}

func (e entry) before(o entry) bool {
	return e.pool < o.pool || (e.pool == o.pool && e.addr < o.addr)
}

// validateOverlaps reports every address entry that shares addresses with
// another, in the same pool or another one. It sorts the entries by first
// address and sweeps them once, holding the entry that reaches furthest:
// O(n log n) in the number of entries, whatever their sizes. Each problem is
// reported on the entry that comes later in the document.
func validateOverlaps(errs *fieldErrors, pools []Pool, entries []entry) {
	slices.SortFunc(entries, func(a, b entry) int {
		if c := a.r.First.Compare(b.r.First); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.pool, b.pool), cmp.Compare(a.addr, b.addr))
	})

	type overlap struct{ at, other entry }
	var found []overlap
	var reach entry // the entry with the highest Last so far
	for i, e := range entries {
		if i > 0 && e.r.First.Compare(reach.r.Last) <= 0 {
			if e.before(reach) {
				found = append(found, overlap{at: reach, other: e})
			} else {
				found = append(found, overlap{at: e, other: reach})
			}
		}
		if i == 0 || e.r.Last.Compare(reach.r.Last) > 0 {
			reach = e
		}
	}
	slices.SortFunc(found, func(a, b overlap) int {
		return cmp.Or(cmp.Compare(a.at.pool, b.at.pool), cmp.Compare(a.at.addr, b.at.addr),
			cmp.Compare(a.other.pool, b.other.pool), cmp.Compare(a.other.addr, b.other.addr))
	})
	for _, o := range found {
		at, other := pools[o.at.pool], pools[o.other.pool]
		if o.at.pool == o.other.pool {
			errs.add(o.at.path(), "%q overlaps %q (%s) of the same pool",
				at.Addresses[o.at.addr], other.Addresses[o.other.addr], o.other.path())
			continue
		}
		errs.add(o.at.path(), "%q of pool %q overlaps %q (%s) of pool %q",
			at.Addresses[o.at.addr], at.Name, other.Addresses[o.other.addr], o.other.path(), other.Name)
	}
}

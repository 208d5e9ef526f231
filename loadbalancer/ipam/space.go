package ipam

import (
	"encoding/binary"
	"math"
	"net/netip"
	"sort"
)

// Range is an inclusive range of addresses of one family.
type Range struct {
	First, Last netip.Addr
}

// Contains reports whether a lies within r.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.First.BitLen() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

// space is the addresses of one family of one pool. Addresses after the
// cursor (ri, next) are free unless held; addresses before it that were
// released wait in the queue free. take advances the cursor first and only
// then reuses released addresses, oldest first, so an address given up is
// handed to another Service as late as possible (clients and DNS caches may
// still point at it). A sequence of n allocations costs O(n) whatever the
// range sizes: the address space is never scanned.
type space struct {
	ranges        []Range // sorted, disjoint
	avoidBuggyIPs bool
	size          uint64 // allocatable addresses, saturated at MaxUint64
	inUse         uint64 // held allocatable addresses

	ri   int          // range of the cursor; len(ranges) when past the end
	next netip.Addr   // next address the cursor yields
	free []netip.Addr // released addresses behind the cursor, oldest first
	head int          // free[:head] were taken already
}

func newSpace(ranges []Range, avoidBuggyIPs bool) *space {
	rs := append([]Range(nil), ranges...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].First.Less(rs[j].First) })
	s := &space{ranges: rs, avoidBuggyIPs: avoidBuggyIPs}
	for _, r := range rs {
		s.size = addSaturated(s.size, s.rangeSize(r))
	}
	if len(rs) > 0 {
		s.next = rs[0].First
	}
	return s
}

// allocatable reports whether a may be handed out by this space at all.
func (s *space) allocatable(a netip.Addr) bool {
	return !(s.avoidBuggyIPs && isBuggy(a))
}

// isBuggy reports whether a is the .0 or .255 of its /24, addresses that some
// old client stacks treat as network or broadcast addresses.
func isBuggy(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	last := a.As4()[3]
	return last == 0 || last == 255
}

// take returns a free allocatable address, or false when none is left.
// isFree says whether an address is not held by anybody.
func (s *space) take(isFree func(netip.Addr) bool) (netip.Addr, bool) {
	if s.inUse >= s.size {
		return netip.Addr{}, false
	}
	for s.ri < len(s.ranges) {
		a := s.next
		if a == s.ranges[s.ri].Last {
			s.ri++
			if s.ri < len(s.ranges) {
				s.next = s.ranges[s.ri].First
			}
		} else {
			s.next = a.Next()
		}
		if isFree(a) && s.allocatable(a) {
			return a, true
		}
	}
	for s.head < len(s.free) {
		a := s.free[s.head]
		s.head++
		if s.head == len(s.free) || s.head > 1024 && s.head*2 > len(s.free) {
			s.free = append(s.free[:0], s.free[s.head:]...)
			s.head = 0
		}
		if isFree(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hold counts a as in use.
func (s *space) hold(a netip.Addr) {
	if s.allocatable(a) {
		s.inUse++
	}
}

// release counts a as free again and makes it reachable by take.
func (s *space) release(a netip.Addr) {
	if !s.allocatable(a) {
		return
	}
	s.inUse--
	if s.behindCursor(a) {
		s.free = append(s.free, a)
	}
}

func (s *space) behindCursor(a netip.Addr) bool {
	if s.ri >= len(s.ranges) {
		return true
	}
	i := s.rangeIndex(a)
	return i < s.ri || (i == s.ri && a.Less(s.next))
}

// rangeIndex returns the index of the range holding a, or -1.
func (s *space) rangeIndex(a netip.Addr) int {
	i := sort.Search(len(s.ranges), func(i int) bool { return a.Compare(s.ranges[i].Last) <= 0 })
	if i < len(s.ranges) && s.ranges[i].Contains(a) {
		return i
	}
	return -1
}

func (s *space) contains(a netip.Addr) bool { return s.rangeIndex(a) >= 0 }

// rangeSize counts the allocatable addresses of r, saturated at MaxUint64.
func (s *space) rangeSize(r Range) uint64 {
	if r.First.Is4() {
		lo := uint64(binary.BigEndian.Uint32(r.First.AsSlice()))
		hi := uint64(binary.BigEndian.Uint32(r.Last.AsSlice()))
		n := hi - lo + 1
		if s.avoidBuggyIPs {
			n -= countResidue(lo, hi, 0) + countResidue(lo, hi, 255)
		}
		return n
	}
	f, l := r.First.As16(), r.Last.As16()
	fhi, flo := binary.BigEndian.Uint64(f[:8]), binary.BigEndian.Uint64(f[8:])
	lhi, llo := binary.BigEndian.Uint64(l[:8]), binary.BigEndian.Uint64(l[8:])
	dhi := lhi - fhi
	if llo < flo {
		dhi--
	}
	dlo := llo - flo
	if dhi > 0 || dlo == math.MaxUint64 {
		return math.MaxUint64
	}
	return dlo + 1
}

// countResidue counts the x in [lo, hi] with x mod 256 == r.
func countResidue(lo, hi, r uint64) uint64 {
	below := func(x uint64) uint64 { // how many y in [0, x) have y mod 256 == r
		if x <= r {
			return 0
		}
		return (x-r-1)/256 + 1
	}
	return below(hi+1) - below(lo)
}

func addSaturated(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

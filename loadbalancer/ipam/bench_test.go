package ipam

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkAllocate100k times 100,000 allocations from a /15.
func BenchmarkAllocate100k(b *testing.B) {
	pools := []Pool{{Name: "big", AutoAssign: true, Ranges: []Range{prefixRange("198.18.0.0/15")}}}
	reqs := make([]Request, 100_000)
	for i := range reqs {
		reqs[i] = v4(fmt.Sprintf("ns%d/svc%d", i%100, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		a := New(pools)
		for i := range reqs {
			if _, err := a.Allocate(reqs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRestore10k times rebuilding the allocator from 10,000 Services'
// status, as the CCM does on start.
func BenchmarkRestore10k(b *testing.B) {
	pools := []Pool{{Name: "big", AutoAssign: true, Ranges: []Range{prefixRange("198.18.0.0/15")}}}
	reqs := make([]Request, 10_000)
	a := New(pools)
	for i := range reqs {
		reqs[i] = v4(fmt.Sprintf("ns%d/svc%d", i%100, i))
		got, err := a.Allocate(reqs[i])
		if err != nil {
			b.Fatal(err)
		}
		reqs[i].Current = got.IPs
	}
	b.ReportAllocs()
	for b.Loop() {
		a := New(pools)
		for i := range reqs {
			if _, err := a.Restore(reqs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAllocateIdempotent times the common call: a Service that already
// holds its address asks again.
func BenchmarkAllocateIdempotent(b *testing.B) {
	a := New([]Pool{{Name: "big", AutoAssign: true, Ranges: []Range{prefixRange("198.18.0.0/15")}}})
	req := v4("default/web")
	if _, err := a.Allocate(req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Allocate(req); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = netip.Addr{}

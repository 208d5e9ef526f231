package bench

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

// BenchmarkBGPCreateToRoute reports, over createToRouteRuns Services created
// one after the other, the time from the create call until the router's
// kernel holds the route with all three nodes as next hops, with
// floatlb-ccm (default flags) in the loop: create → CCM allocates and
// writes the status → three announcers advertise → BIRD installs the ECMP
// route. It splits it into create → status (the CCM's share, as a watch
// sees it) and status → route (the announcers', BIRD's and the kernel's),
// and reports the time from delete to the route's withdrawal. One Service
// before the runs warms the CCM and the announcers up and is not counted.
func BenchmarkBGPCreateToRoute(b *testing.B) {
	const runs = 7
	for b.Loop() {
		bed := newBGPBed(b, 3)
		ctx := context.Background()
		for _, h := range bed.lab.Nodes() {
			bed.announcer(b, h)
		}
		stopCCM, _ := startCCM(b, bed.env)
		defer stopCCM()
		nodes := len(bed.lab.Nodes())

		var create, status, route, del []time.Duration
		for run := range runs + 1 {
			c := bed.createToRoute(b, ctx, fmt.Sprintf("ccm-%d", run), nodes)
			if run == 0 {
				b.Logf("warm-up (not counted): create→route %s", c.route.Round(time.Millisecond))
				continue
			}
			create = append(create, c.route)
			status = append(status, c.status)
			route = append(route, c.route-c.status)
			del = append(del, c.deleted)
		}
		for _, m := range []struct {
			name string
			d    []time.Duration
		}{{"create→route (CCM in the loop)", create}, {"  create→status (CCM)", status}, {"  status→route (announcers, BIRD)", route}, {"delete→withdrawn", del}} {
			lo, med, hi := spread(m.d)
			b.Logf("%-34s min %s  median %s  max %s", m.name, lo, med, hi)
		}
		lo, med, hi := spread(create)
		b.ReportMetric(lo.Seconds(), "s-create→route-min")
		b.ReportMetric(med.Seconds(), "s-create→route-median")
		b.ReportMetric(hi.Seconds(), "s-create→route-max")
		_, med, _ = spread(status)
		b.ReportMetric(med.Seconds(), "s-create→status-median")
		_, med, _ = spread(del)
		b.ReportMetric(med.Seconds(), "s-delete→withdrawn-median")
	}
}

// createToRouteTimes are one run's times, each from the create (or delete) call.
type createToRouteTimes struct {
	status, route, deleted time.Duration
}

// createToRoute creates a Service without an address, waits until the CCM
// has given it one and the router holds its route via nodes next hops,
// then deletes it and waits for the route to go.
func (bed *bgpBed) createToRoute(b *testing.B, ctx context.Context, name string, nodes int) createToRouteTimes {
	if n := bed.routeCount(ctx); n != 0 {
		b.Fatalf("the router holds %d routes of the pool before %s is created", n, name)
	}
	w, err := bed.client.CoreV1().Services("bench").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	type seen struct {
		ip netip.Addr
		at time.Time
	}
	addressed := make(chan seen, 1)
	var once sync.Once
	go func() {
		for ev := range w.ResultChan() {
			svc, ok := ev.Object.(*v1.Service)
			if !ok || ev.Type == watch.Deleted || len(svc.Status.LoadBalancer.Ingress) == 0 {
				continue
			}
			at := time.Now()
			if ip, err := netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP); err == nil {
				once.Do(func() { addressed <- seen{ip, at} })
			}
		}
	}()

	no := false
	start := time.Now()
	if _, err := bed.client.CoreV1().Services("bench").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no, Ports: []v1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// The router is polled for any route of the pool, so the time does not
	// depend on when this benchmark's watch learns the address.
	var t createToRouteTimes
	var ip netip.Prefix
	waitFor(b, time.Minute, name+": route via every node", func() bool {
		var ok bool
		ip, ok = bed.poolRouteVia(ctx, nodes)
		return ok
	})
	t.route = time.Since(start)
	select {
	case s := <-addressed:
		t.status = s.at.Sub(start)
		if netip.PrefixFrom(s.ip, 32) != ip {
			b.Fatalf("%s holds %s, but the router's route is to %s", name, s.ip, ip)
		}
	case <-time.After(time.Minute):
		b.Fatalf("%s: the route is in, but no address seen in its status", name)
	}

	start = time.Now()
	if err := bed.client.CoreV1().Services("bench").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, time.Minute, name+": route withdrawn", func() bool { return bed.routeCount(ctx) == 0 })
	t.deleted = time.Since(start)
	// The CCM removes its finalizer; wait until the Service is gone so that
	// its address is free and the next run starts from a quiet cluster.
	waitFor(b, time.Minute, name+": Service gone", func() bool {
		_, err := bed.client.CoreV1().Services("bench").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	return t
}

// poolRouteVia returns the router's host route of the pool that goes via
// exactly nodes next hops, if there is one.
func (bed *bgpBed) poolRouteVia(ctx context.Context, nodes int) (netip.Prefix, bool) {
	routes, err := bed.lab.Routes(ctx, bed.lab.Router(), lab.IPv4)
	if err != nil {
		return netip.Prefix{}, false
	}
	for _, r := range routes {
		if r.Dst.Bits() == 32 && benchPool.Contains(r.Dst.Addr()) && len(r.Gateways()) == nodes {
			return r.Dst, true
		}
	}
	return netip.Prefix{}, false
}

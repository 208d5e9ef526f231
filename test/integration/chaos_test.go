package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/floatlb/floatlb/test/internal/logtail"
)

// The chaos tests of the CCM (issue 8): kill -9 in the middle of bursts, of
// a lone floatlb-ccm and of the leader of two replicas. What they prove is
// what a user relies on: no address is ever held by two Services, none lies
// outside its pool, and none changes once a Service holds it. A watch sees
// every status the API server stores, not just the end state.

// chaosServices is the size of the burst of TestChaosCCMKills. Measured on
// the 2-core machine with other builds running (load average ≈ 7, the CCM
// built with -race): creating 2,000 Services took 51 s, all held an address
// 109 s after the burst began, the whole test 118 s.
const chaosServices = 2000

// chaosConfig has room for chaosServices: two thirds from general, one
// third from special, which only Services that ask for it get.
const chaosConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: general
  addresses: [198.19.0.0/21]
- name: special
  autoAssign: false
  addresses: [198.19.16.0/22]
`

var chaosPools = map[string]netip.Prefix{
	"general": netip.MustParsePrefix("198.19.0.0/21"),
	"special": netip.MustParsePrefix("198.19.16.0/22"),
}

// TestChaosCCMKills creates chaosServices Services in one burst and kills
// floatlb-ccm (--concurrent-service-syncs=10) with SIGKILL 10 times while
// it works through them, starting it again at once each time.
func TestChaosCCMKills(t *testing.T) {
	env, client := newCluster(t)
	setConfig(t, client, chaosConfig)
	createNamespace(t, client, "burst")
	w := watchIPs(t, client, "burst")
	ccm := startCCM(t, env, configNamespace, "--concurrent-service-syncs=10")

	names := make([]string, chaosServices)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d", i)
	}
	wantPool := func(i int) string {
		if i%3 == 0 {
			return "special"
		}
		return "general"
	}

	const kills = 10
	var (
		created  atomic.Int64
		ups      []time.Duration // how long each run lived before its kill
		wg       sync.WaitGroup
		halt     = make(chan struct{})
		haltOnce sync.Once
	)
	stopKilling := func() { haltOnce.Do(func() { close(halt) }); wg.Wait() }
	t.Cleanup(stopKilling) // before the CCM's own cleanup stops it
	began := time.Now()
	wg.Go(func() {
		// Kill k comes once a k/(kills+1) share of the burst is created and
		// the running CCM has handed out addresses since its start: each
		// kill hits a CCM in the middle of its work, not one starting up.
		for k := 1; k <= kills; k++ {
			since, base := time.Now(), w.assigned()
			for created.Load() < int64(k*chaosServices/(kills+1)) ||
				(w.assigned() < base+20 && w.assigned() < chaosServices && time.Since(since) < time.Minute) {
				select {
				case <-halt:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			time.Sleep(rand.N(300 * time.Millisecond)) // land anywhere in a sync
			ccm.stop(syscall.SIGKILL)
			ups = append(ups, time.Since(since).Round(time.Millisecond))
			ccm.start()
		}
	})
	createAll(t, client, names, 16, func(i int) *v1.Service {
		created.Add(1)
		svc := service("burst", names[i])
		if wantPool(i) == "special" {
			svc.Annotations["floatlb.io/pool"] = "special"
		}
		return svc
	})
	t.Logf("%d Services created in %s", chaosServices, time.Since(began).Round(time.Millisecond))
	killsDone := make(chan struct{})
	go func() { wg.Wait(); close(killsDone) }()
	select {
	case <-killsDone:
	case <-time.After(5 * time.Minute):
		stopKilling()
		t.Fatalf("only %d of %d kills within 5 minutes: the CCM stopped handing out addresses", len(ups), kills)
	}
	t.Logf("%d kills -9 of floatlb-ccm, each after the run had handed out addresses for %v; the last %s after the burst began",
		len(ups), ups, time.Since(began).Round(time.Millisecond))

	ips := waitForAll(t, client, "burst", chaosServices, 3*time.Minute)
	t.Logf("all %d Services hold an address %s after the burst began (%d runs of floatlb-ccm)",
		chaosServices, time.Since(began).Round(time.Millisecond), ccm.runs)
	for i, name := range names {
		if !inPool(ips[name], chaosPools[wantPool(i)]) {
			t.Errorf("%s holds %s, outside its pool %s (%s)", name, ips[name], wantPool(i), chaosPools[wantPool(i)])
		}
	}
	checkUnique(t, ips)
	w.check(t, ips)
}

// TestChaosLeaderKill runs two floatlb-ccm replicas with leader election and
// kills the leader with SIGKILL in the middle of a burst: the other takes
// over, every Service gets an address, none is handed out twice, none
// changes.
func TestChaosLeaderKill(t *testing.T) {
	env, client := newCluster(t)
	setConfig(t, client, chaosConfig)
	createNamespace(t, client, "burst")
	w := watchIPs(t, client, "burst")
	// Short timings for the test; on a loaded machine with -race a renewal
	// may take a few seconds, so the deadline keeps some room.
	election := []string{"--leader-elect=true", "--leader-elect-resource-namespace=" + configNamespace,
		"--leader-elect-resource-name=floatlb-ccm", "--leader-elect-lease-duration=6s",
		"--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s", "--concurrent-service-syncs=10"}
	replicas := []*ccm{startCCM(t, env, configNamespace, election...), startCCM(t, env, configNamespace, election...)}
	var leader, standby *ccm
	eventually(t, time.Minute, "one replica leads", func(context.Context) error {
		for i, r := range replicas {
			if r.leads() {
				leader, standby = r, replicas[1-i]
				return nil
			}
		}
		return fmt.Errorf("no replica has acquired the Lease")
	})

	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%04d", i)
	}
	var created atomic.Int64
	killedAt := make(chan time.Time, 1)
	began := time.Now()
	go func() {
		// The leader dies a third into the burst, once it has handed out
		// addresses.
		for created.Load() < n/3 || w.assigned() < 50 {
			if time.Since(began) > 2*time.Minute {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		leader.stop(syscall.SIGKILL)
		killedAt <- time.Now()
	}()
	createAll(t, client, names, 16, func(i int) *v1.Service {
		created.Add(1)
		return service("burst", names[i])
	})
	t.Logf("%d Services created in %s", n, time.Since(began).Round(time.Millisecond))
	killed := <-killedAt
	before := w.assigned()
	t.Logf("the leader was killed %s into the burst, with %d Services holding an address", killed.Sub(began).Round(time.Millisecond), before)

	eventually(t, 2*time.Minute, "the standby leads and hands out addresses", func(context.Context) error {
		if !standby.leads() {
			return fmt.Errorf("the standby has not acquired the Lease")
		}
		if w.assigned() == before && before < n {
			return fmt.Errorf("no address handed out since the kill (%d hold one)", before)
		}
		return nil
	})
	t.Logf("the standby took over and handed out addresses %s after the kill", time.Since(killed).Round(time.Millisecond))
	ips := waitForAll(t, client, "burst", n, 3*time.Minute)
	t.Logf("all %d Services hold an address %s after the kill", n, time.Since(killed).Round(time.Millisecond))
	for _, name := range names {
		if !inPool(ips[name], chaosPools["general"]) {
			t.Errorf("%s holds %s, outside pool general (%s)", name, ips[name], chaosPools["general"])
		}
	}
	checkUnique(t, ips)
	w.check(t, ips)
	select {
	case <-standby.done:
		t.Errorf("the new leader exited; last lines of its log:\n%s", logtail.Tail(fmt.Sprintf("%s.%d.log", standby.log, standby.runs), 30))
	default:
	}
}

// leads reports whether this run of the CCM has acquired the leader Lease.
func (c *ccm) leads() bool {
	b, err := os.ReadFile(fmt.Sprintf("%s.%d.log", c.log, c.runs))
	return err == nil && strings.Contains(strings.ToLower(string(b)), "successfully acquired lease")
}

// ipWatch follows every status the API server stores for the Services of
// one namespace and records what must never happen: an address held by two
// Services at once, a Service whose address changes or goes away.
type ipWatch struct {
	mu         sync.Mutex
	first      map[string][]string // Service → the addresses it was first seen with
	holder     map[string]string   // address → Service holding it now
	violations []string
}

// watchIPs starts an ipWatch on namespace until the test ends.
func watchIPs(t *testing.T, client kubernetes.Interface, namespace string) *ipWatch {
	t.Helper()
	w := &ipWatch{first: map[string][]string{}, holder: map[string]string{}}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace))
	inf := factory.Core().V1().Services().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.saw(obj.(*v1.Service)) },
		UpdateFunc: func(_, obj any) { w.saw(obj.(*v1.Service)) },
		DeleteFunc: func(obj any) {
			if svc, ok := obj.(*v1.Service); ok {
				w.mu.Lock()
				w.violations = append(w.violations, fmt.Sprintf("%s was deleted; nothing here deletes Services", svc.Name))
				w.mu.Unlock()
			}
		},
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	t.Cleanup(func() { close(stop); factory.Shutdown() })
	if !cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced) {
		t.Fatal("the Service watch did not sync")
	}
	return w
}

func (w *ipWatch) saw(svc *v1.Service) {
	ips := ingressIPs(svc)
	w.mu.Lock()
	defer w.mu.Unlock()
	first, seen := w.first[svc.Name]
	switch {
	case !seen && len(ips) == 0:
		return
	case !seen:
		w.first[svc.Name] = ips
		for _, ip := range ips {
			if other, ok := w.holder[ip]; ok && other != svc.Name {
				w.violations = append(w.violations, fmt.Sprintf("%s was handed to %s while %s held it", ip, svc.Name, other))
			}
			w.holder[ip] = svc.Name
		}
	case !slices.Equal(first, ips):
		w.violations = append(w.violations, fmt.Sprintf("%s held %v, then %v", svc.Name, first, ips))
	}
}

// assigned is the number of Services seen holding addresses.
func (w *ipWatch) assigned() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.first)
}

// check fails the test for every violation seen, and for every Service of
// final (name → address) that the watch saw with another address.
func (w *ipWatch) check(t *testing.T, final map[string]string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.violations {
		t.Error(v)
	}
	for name, ip := range final {
		if first := w.first[name]; len(first) != 1 || first[0] != ip {
			t.Errorf("%s holds %s; the watch first saw it with %v", name, ip, first)
		}
	}
	t.Logf("the watch saw %d Services get addresses; none moved, none was held twice", len(w.first))
}

// inPool reports whether ip lies in pool.
func inPool(ip string, pool netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && pool.Contains(a)
}

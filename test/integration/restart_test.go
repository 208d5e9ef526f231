package integration

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const burstConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: general
  addresses: [198.19.0.0/23]
- name: special
  autoAssign: false
  addresses: [198.19.4.0/23]
`

// TestBurstSurvivesKill creates 300 Services in one burst, kills floatlb-ccm
// with SIGKILL in the middle of it and starts it again: every Service gets
// exactly one address from the right pool, no address twice, and no address
// changes across two more restarts.
func TestBurstSurvivesKill(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"all controllers", nil},
		{"controllers service,cloud-node", []string{"--controllers=service,cloud-node"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, client := newCluster(t)
			setConfig(t, client, burstConfig)
			ccm := startCCM(t, env, configNamespace, append([]string{"--concurrent-service-syncs=10"}, tc.flags...)...)
			createNamespace(t, client, "burst")

			const n = 300
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("svc-%03d", i)
			}
			wantPool := func(i int) string {
				if i%3 == 0 {
					return "special"
				}
				return "general"
			}
			createAll(t, client, names, 16, func(i int) *v1.Service {
				svc := service("burst", names[i])
				if wantPool(i) == "special" {
					svc.Annotations["floatlb.io/pool"] = "special"
				}
				if i == n/3 {
					ccm.stop(syscall.SIGKILL)
				}
				return svc
			})
			ccm.start()
			restarted := time.Now()

			ips := waitForAll(t, client, "burst", n, 2*time.Minute)
			t.Logf("all %d Services hold an address %s after the restart", n, time.Since(restarted).Round(time.Millisecond))
			for i, name := range names {
				checkOne(t, ips, name, wantPool(i))
			}
			checkUnique(t, ips)
			eventually(t, time.Minute, "every Service has its allocated-pool annotation", func(ctx context.Context) error {
				list, err := client.CoreV1().Services("burst").List(ctx, metav1.ListOptions{})
				if err != nil {
					return err
				}
				for i := range list.Items {
					svc := &list.Items[i]
					var idx int
					fmt.Sscanf(svc.Name, "svc-%d", &idx)
					if got := svc.Annotations["floatlb.io/allocated-pool"]; got != wantPool(idx) {
						return fmt.Errorf("%s: allocated-pool %q, want %q", svc.Name, got, wantPool(idx))
					}
				}
				return nil
			})

			for round, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
				ccm.restart(sig)
				// A Service created after the restart gets an address that nobody holds.
				probe := fmt.Sprintf("probe-%d", round)
				create(t, client, service("burst", probe))
				got := waitForIPs(t, client, "burst", probe, 1, 2*time.Minute)
				after := waitForAll(t, client, "burst", n+round+1, time.Minute)
				for name, ip := range ips {
					if after[name] != ip {
						t.Errorf("after restart %d (%s), %s moved from %s to %s", round+1, sig, name, ip, after[name])
					}
				}
				checkUnique(t, after)
				ips[probe] = ingressIPs(got)[0]
			}
		})
	}
}

// createAll creates the Services build(i) returns for every name, with
// workers creating at once.
func createAll(t *testing.T, client kubernetes.Interface, names []string, workers int, build func(i int) *v1.Service) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, len(names))
	for range workers {
		wg.Go(func() {
			for i := range next {
				if _, err := client.CoreV1().Services("burst").Create(context.Background(), build(i), metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitForAll waits until n Services of namespace hold exactly one address
// each and returns name → address.
func waitForAll(t testing.TB, client kubernetes.Interface, namespace string, n int, timeout time.Duration) map[string]string {
	t.Helper()
	ips := map[string]string{}
	eventually(t, timeout, fmt.Sprintf("%d Services of %s hold an address", n, namespace), func(ctx context.Context) error {
		list, err := client.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		clear(ips)
		waiting := 0
		for _, svc := range list.Items {
			got := ingressIPs(&svc)
			switch len(got) {
			case 0:
				waiting++
			case 1:
				ips[svc.Name] = got[0]
			default:
				return fmt.Errorf("%s holds %d addresses: %v", svc.Name, len(got), got)
			}
		}
		if len(ips) != n {
			return fmt.Errorf("%d of %d hold an address, %d wait", len(ips), n, waiting)
		}
		return nil
	})
	return ips
}

var poolPrefixes = map[string]netip.Prefix{
	"general": netip.MustParsePrefix("198.19.0.0/23"),
	"special": netip.MustParsePrefix("198.19.4.0/23"),
}

func checkOne(t *testing.T, ips map[string]string, name, pool string) {
	t.Helper()
	a, err := netip.ParseAddr(ips[name])
	if err != nil || !poolPrefixes[pool].Contains(a) {
		t.Errorf("%s holds %q, want an address of pool %s (%s)", name, ips[name], pool, poolPrefixes[pool])
	}
}

func checkUnique(t *testing.T, ips map[string]string) {
	t.Helper()
	holder := map[string]string{}
	for name, ip := range ips {
		if other, ok := holder[ip]; ok {
			t.Errorf("%s is held by both %s and %s", ip, other, name)
		}
		holder[ip] = name
	}
}

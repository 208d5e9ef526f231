package integration

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestExistingClaims: Services whose status already holds addresses (left by
// MetalLB before a migration, say) keep them; of two Services claiming one
// address the older keeps it, both get a Warning Event, the newer gets no
// other address silently, and nobody else is handed it.
func TestExistingClaims(t *testing.T) {
	env, client := newCluster(t)
	setConfig(t, client, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: main
  addresses: [192.0.2.16/30]
`)
	createNamespace(t, client, "apps")
	withStatus(t, client, service("apps", "migrated"), "192.0.2.18")
	withStatus(t, client, service("apps", "older"), "192.0.2.17")
	time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second precision
	withStatus(t, client, service("apps", "newer"), "192.0.2.17")

	ccm := startCCM(t, env, configNamespace, "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics")
	const wait = 60 * time.Second
	waitForEvent(t, client, "apps", "Service", "newer", "floatlb.io/ConflictingIP", "192.0.2.17 is also claimed by the older Service apps/older", wait)
	waitForEvent(t, client, "apps", "Service", "older", "floatlb.io/ConflictingIP", "claimed by the newer Service apps/newer", wait)
	waitForMetric(t, ccm, "floatlb_ipam_conflicting_claims_total 1", wait)

	create(t, client, service("apps", "fresh-1"))
	create(t, client, service("apps", "fresh-2"))
	got := map[string]string{}
	for _, name := range []string{"fresh-1", "fresh-2"} {
		got[name] = ingressIPs(waitForIPs(t, client, "apps", name, 1, wait))[0]
	}
	for name, ip := range got {
		if ip == "192.0.2.17" || ip == "192.0.2.18" {
			t.Errorf("%s was handed %s, which another Service holds", name, ip)
		}
	}
	waitForEvent(t, client, "apps", "Service", "newer", "SyncLoadBalancerFailed", "also claimed by apps/older, which keeps it", wait)
	for name, want := range map[string]string{"migrated": "192.0.2.18", "older": "192.0.2.17", "newer": "192.0.2.17"} {
		svc, err := client.CoreV1().Services("apps").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ips := ingressIPs(svc); len(ips) != 1 || ips[0] != want {
			t.Errorf("%s holds %v, want it to keep %s", name, ips, want)
		}
		if a := svc.Annotations["floatlb.io/allocated-pool"]; a != "main" && name != "newer" {
			t.Errorf("%s: allocated-pool %q, want main", name, a)
		}
	}
}

// withStatus creates svc with addr already in its status, as another
// controller would have left it.
func withStatus(t testing.TB, client kubernetes.Interface, svc *v1.Service, addr string) {
	t.Helper()
	created := create(t, client, svc)
	created.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: addr}}
	if _, err := client.CoreV1().Services(svc.Namespace).UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

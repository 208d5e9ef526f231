package integration

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servicehelper "k8s.io/cloud-provider/service/helpers"
)

const annotationsConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  addresses: [192.0.2.0/29, 2001:db8:1::/125]
- name: reserved
  autoAssign: false
  addresses: [198.51.100.10-198.51.100.20]
- name: tiny
  autoAssign: false
  addresses: [203.0.113.1-203.0.113.2]
`

// TestAllocation covers what a Service can ask for: a pool, a specific
// address, a shared address, both families; and the annotation the CCM writes.
func TestAllocation(t *testing.T) {
	env, client := newCluster(t)
	setConfig(t, client, annotationsConfig)
	startCCM(t, env, configNamespace)
	createNamespace(t, client, "apps")
	const wait = 60 * time.Second

	t.Run("automatic from the first auto-assign pool, with the pool annotation", func(t *testing.T) {
		create(t, client, service("apps", "auto"))
		svc := waitForIPs(t, client, "apps", "auto", 1, wait)
		if ip := ingressIPs(svc)[0]; !inPrefix(ip, "192.0.2.0/29") {
			t.Errorf("auto got %s, want one of public's 192.0.2.0/29", ip)
		}
		eventually(t, wait, "allocated-pool annotation", func(ctx context.Context) error {
			return annotationIs(ctx, client, "apps", "auto", "floatlb.io/allocated-pool", "public")
		})
		if m := svc.Status.LoadBalancer.Ingress[0].IPMode; m == nil || *m != v1.LoadBalancerIPModeVIP {
			t.Errorf("ingress ipMode = %v, want VIP", m)
		}
		// floatlb-ccm holds the upstream finalizer patch back for the
		// status patch: the address and the finalizer come in one write.
		if !servicehelper.HasLBFinalizer(svc) {
			t.Errorf("auto holds %v without the finalizer %s (finalizers %v)", ingressIPs(svc), servicehelper.LoadBalancerCleanupFinalizer, svc.Finalizers)
		}
		// Nor does it write the upstream Normal Events that say what the
		// status says; a Warning is still written (the exhausted pool
		// below).
		for _, r := range eventReasons(t, client, "apps", "auto") {
			if r == "EnsuringLoadBalancer" || r == "EnsuredLoadBalancer" {
				t.Errorf("auto has an Event %s; floatlb-ccm does not write it", r)
			}
		}
	})

	t.Run("pool annotation picks a pool that does not auto-assign", func(t *testing.T) {
		create(t, client, service("apps", "pooled", annotated("floatlb.io/pool", "reserved")))
		svc := waitForIPs(t, client, "apps", "pooled", 1, wait)
		if ip := ingressIPs(svc)[0]; ip != "198.51.100.10" {
			t.Errorf("pooled got %s, want 198.51.100.10", ip)
		}
		eventually(t, wait, "allocated-pool annotation", func(ctx context.Context) error {
			return annotationIs(ctx, client, "apps", "pooled", "floatlb.io/allocated-pool", "reserved")
		})
	})

	t.Run("a requested address, by annotation and by spec.loadBalancerIP", func(t *testing.T) {
		create(t, client, service("apps", "wanted", annotated("floatlb.io/load-balancer-ips", "198.51.100.17")))
		create(t, client, service("apps", "legacy", func(s *v1.Service) { s.Spec.LoadBalancerIP = "198.51.100.18" }))
		if ip := ingressIPs(waitForIPs(t, client, "apps", "wanted", 1, wait))[0]; ip != "198.51.100.17" {
			t.Errorf("wanted got %s, want 198.51.100.17", ip)
		}
		if ip := ingressIPs(waitForIPs(t, client, "apps", "legacy", 1, wait))[0]; ip != "198.51.100.18" {
			t.Errorf("legacy got %s, want 198.51.100.18", ip)
		}
		create(t, client, service("apps", "thief", annotated("floatlb.io/load-balancer-ips", "198.51.100.17")))
		waitForEvent(t, client, "apps", "Service", "thief", "SyncLoadBalancerFailed", "198.51.100.17 is held by apps/wanted", wait)
	})

	t.Run("two Services share one address, a third is refused for a port clash", func(t *testing.T) {
		shared := annotated("floatlb.io/allow-shared-ip", "dns")
		create(t, client, service("apps", "dns-tcp", shared, annotated("floatlb.io/pool", "reserved"), port(53)))
		first := ingressIPs(waitForIPs(t, client, "apps", "dns-tcp", 1, wait))[0]
		create(t, client, service("apps", "dns-alt", shared, annotated("floatlb.io/pool", "reserved"), port(5353)))
		if second := ingressIPs(waitForIPs(t, client, "apps", "dns-alt", 1, wait))[0]; second != first {
			t.Errorf("dns-alt got %s, want the shared %s", second, first)
		}
		create(t, client, service("apps", "dns-clash", shared, annotated("floatlb.io/load-balancer-ips", first), port(53)))
		waitForEvent(t, client, "apps", "Service", "dns-clash", "SyncLoadBalancerFailed", "port TCP/53 is already used by apps/dns-tcp", wait)
	})

	t.Run("dual-stack gets one address per family from one pool", func(t *testing.T) {
		create(t, client, service("apps", "dual", dualStack(v1.IPFamilyPolicyRequireDualStack, v1.IPv6Protocol, v1.IPv4Protocol)))
		got := ingressIPs(waitForIPs(t, client, "apps", "dual", 2, wait))
		if !inPrefix(got[0], "2001:db8:1::/125") || !inPrefix(got[1], "192.0.2.0/29") {
			t.Errorf("dual got %v, want an IPv6 then an IPv4 address of pool public", got)
		}
	})

	t.Run("exhausted pool: an Event says so, a freed address ends the wait", func(t *testing.T) {
		tiny := annotated("floatlb.io/pool", "tiny")
		create(t, client, service("apps", "tiny-1", tiny))
		create(t, client, service("apps", "tiny-2", tiny))
		waitForIPs(t, client, "apps", "tiny-1", 1, wait)
		waitForIPs(t, client, "apps", "tiny-2", 1, wait)
		create(t, client, service("apps", "tiny-3", tiny))
		waitForEvent(t, client, "apps", "Service", "tiny-3", "SyncLoadBalancerFailed", `pool "tiny" is exhausted: 2 of 2 addresses in use`, wait)
		if err := client.CoreV1().Services("apps").Delete(context.Background(), "tiny-1", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, wait, "tiny-1 is gone", func(ctx context.Context) error { return gone(ctx, client, "apps", "tiny-1") })
		waitForIPs(t, client, "apps", "tiny-3", 1, 15*time.Second)
	})
}

package loadbalancer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/cloud-provider/api"
	"k8s.io/component-base/metrics/testutil"
)

const testConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: main
  addresses: [192.0.2.0/31]
`

func configMap(rv, yaml string) *v1.ConfigMap {
	return &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "floatlb-system", Name: "floatlb-config", ResourceVersion: rv},
		Data:       map[string]string{"config.yaml": yaml},
	}
}

func lbService(name string, status ...string) *v1.Service {
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, CreationTimestamp: metav1.Now()},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, IPFamilies: []v1.IPFamily{v1.IPv4Protocol}},
	}
	for _, ip := range status {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, v1.LoadBalancerIngress{IP: ip})
	}
	return svc
}

// started returns a LoadBalancer started over a fake clientset holding
// objs; the fake only plumbs, the behaviour the API server decides is tested
// in test/integration.
func started(t *testing.T, cm *v1.ConfigMap, objs ...*v1.Service) (*LoadBalancer, *fake.Clientset, *record.FakeRecorder, *Metrics) {
	return startedWith(t, NewMetrics(), cm, objs...)
}

func startedWith(t *testing.T, m *Metrics, cm *v1.ConfigMap, objs ...*v1.Service) (*LoadBalancer, *fake.Clientset, *record.FakeRecorder, *Metrics) {
	t.Helper()
	ctx := context.Background()
	client := fake.NewClientset()
	for _, o := range objs {
		if _, err := client.CoreV1().Services(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	lister := factory.Core().V1().Services().Lister()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	recorder := record.NewFakeRecorder(100)
	lb := New(m)
	lb.Start(ctx, client, lister, recorder, cm)
	return lb, client, recorder, m
}

func TestEnsureLoadBalancer(t *testing.T) {
	m := NewMetrics()
	gatherer := gathererFor(m)
	lb, client, _, _ := startedWith(t, m, configMap("1", testConfig), lbService("web"))
	ctx := context.Background()
	svc := lbService("web")
	st, err := lb.EnsureLoadBalancer(ctx, "", svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Ingress) != 1 || st.Ingress[0].IP != "192.0.2.0" || *st.Ingress[0].IPMode != v1.LoadBalancerIPModeVIP {
		t.Fatalf("status %+v, want 192.0.2.0 with ipMode VIP", st)
	}
	got, _ := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if got.Annotations[AnnotationAllocatedPool] != "main" {
		t.Errorf("allocated-pool annotation %q, want main", got.Annotations[AnnotationAllocatedPool])
	}
	// Idempotent, and no second patch once the annotation is there.
	before := len(client.Actions())
	if _, err := lb.EnsureLoadBalancer(ctx, "", got, nil); err != nil {
		t.Fatal(err)
	}
	if writes := len(client.Actions()) - before; writes != 0 {
		t.Errorf("a second EnsureLoadBalancer made %d API calls, want 0", writes)
	}
	if err := testutil.GatherAndCompare(gatherer, strings.NewReader(`
# HELP floatlb_ipam_pool_addresses_in_use [ALPHA] Addresses of a pool held by Services, per family.
# TYPE floatlb_ipam_pool_addresses_in_use gauge
floatlb_ipam_pool_addresses_in_use{family="IPv4",pool="main"} 1
`), "floatlb_ipam_pool_addresses_in_use"); err != nil {
		t.Error(err)
	}
	if _, exists, _ := lb.GetLoadBalancer(ctx, "", got); !exists {
		t.Error("GetLoadBalancer: the Service's load balancer does not exist")
	}
	if err := lb.EnsureLoadBalancerDeleted(ctx, "", got); err != nil {
		t.Fatal(err)
	}
	if _, exists, _ := lb.GetLoadBalancer(ctx, "", got); exists {
		t.Error("GetLoadBalancer after EnsureLoadBalancerDeleted: still exists")
	}
}

func TestRetryErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("no config", func(t *testing.T) {
		lb, _, _, _ := started(t, nil, lbService("a"))
		_, err := lb.EnsureLoadBalancer(ctx, "", lbService("a"), nil)
		var re *api.RetryError
		if !errors.As(err, &re) || re.RetryAfter() > 10*time.Second || !strings.Contains(err.Error(), "no floatlb config yet") {
			t.Errorf("EnsureLoadBalancer without config = %v, want a short RetryError", err)
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		lb, _, _, _ := started(t, configMap("1", testConfig), lbService("a"), lbService("b"), lbService("c"))
		for _, name := range []string{"a", "b"} {
			if _, err := lb.EnsureLoadBalancer(ctx, "", lbService(name), nil); err != nil {
				t.Fatal(err)
			}
		}
		_, err := lb.EnsureLoadBalancer(ctx, "", lbService("c"), nil)
		var re *api.RetryError
		if !errors.As(err, &re) || re.RetryAfter() > 10*time.Second || err.Error() != `pool "main" is exhausted: 2 of 2 addresses in use` {
			t.Errorf("EnsureLoadBalancer on a full pool = %v, want a short RetryError", err)
		}
	})
}

func TestSetConfig(t *testing.T) {
	ctx := context.Background()
	m := NewMetrics()
	gathererFor(m)
	lb, _, recorder, _ := startedWith(t, m, configMap("1", testConfig), lbService("held", "192.0.2.1"), lbService("other"))
	if v, _ := testutil.GetGaugeMetricValue(m.ConfigValid); v != 1 {
		t.Errorf("floatlb_config_valid = %v after a good config, want 1", v)
	}
	lb.SetConfig(ctx, configMap("2", "apiVersion: floatlb.io/v1alpha1\nkind: Config\npools: [{name: main, addresses: [192.0.2.0/32]}]\n"))
	if v, _ := testutil.GetGaugeMetricValue(m.ConfigValid); v != 0 {
		t.Errorf("floatlb_config_valid = %v after a destructive config, want 0", v)
	}
	if e := drain(recorder); !strings.Contains(e, "192.0.2.1 (default/held)") {
		t.Errorf("Events %q do not name the Service holding 192.0.2.1", e)
	}
	// The last good config is still in force: held keeps 192.0.2.1, another gets .0.
	st, err := lb.EnsureLoadBalancer(ctx, "", lbService("other"), nil)
	if err != nil || st.Ingress[0].IP != "192.0.2.0" {
		t.Errorf("EnsureLoadBalancer under the last good config = %v, %v; want 192.0.2.0", st, err)
	}
	lb.SetConfig(ctx, configMap("3", "kind: Nope\n"))
	if e := drain(recorder); !strings.Contains(e, "Warning floatlb.io/InvalidConfig") || !strings.Contains(e, "the last good config stays in force") {
		t.Errorf("Events %q lack the InvalidConfig warning", e)
	}
}

func drain(r *record.FakeRecorder) string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

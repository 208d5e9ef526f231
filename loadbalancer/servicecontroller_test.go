package loadbalancer

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	servicehelper "k8s.io/cloud-provider/service/helpers"
)

// adapted is a started LoadBalancer adapted to a service controller; it
// returns the controller's client.
func adapted(t *testing.T, objs ...*v1.Service) (*LoadBalancer, kubernetes.Interface, *fake.Clientset) {
	t.Helper()
	lb, client, _, _ := started(t, configMap("1", testConfig), objs...)
	inf := informers.NewSharedInformerFactory(client, 0).Core().V1().Services().Informer()
	sc, err := lb.ForServiceController(client, inf)
	if err != nil {
		t.Fatal(err)
	}
	return lb, sc, client
}

// syncLike does what the upstream service controller does with svc: a
// status patch adding the cleanup finalizer when svc lacks it,
// EnsureLoadBalancer, then a status patch when the status changes.
func syncLike(t *testing.T, lb *LoadBalancer, sc kubernetes.Interface, svc *v1.Service) {
	t.Helper()
	if !servicehelper.HasLBFinalizer(svc) {
		updated := svc.DeepCopy()
		updated.Finalizers = append(updated.Finalizers, servicehelper.LoadBalancerCleanupFinalizer)
		if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); err != nil {
			t.Fatal(err)
		}
	}
	st, err := lb.EnsureLoadBalancer(context.Background(), "", svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if servicehelper.LoadBalancerStatusEqual(&svc.Status.LoadBalancer, st) {
		return
	}
	updated := svc.DeepCopy()
	updated.Status.LoadBalancer = *st
	if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); err != nil {
		t.Fatal(err)
	}
}

// vip sets ipMode VIP on the addresses of svc's status, as floatlb writes it.
func vip(svc *v1.Service) *v1.Service {
	mode := v1.LoadBalancerIPModeVIP
	for i := range svc.Status.LoadBalancer.Ingress {
		svc.Status.LoadBalancer.Ingress[i].IPMode = &mode
	}
	return svc
}

// writes lists the API writes of a fake clientset as "verb resource/subresource".
func writes(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		w := a.GetVerb() + " " + a.GetResource().Resource
		if a.GetSubresource() != "" {
			w += "/" + a.GetSubresource()
		}
		out = append(out, w)
	}
	return out
}

func TestForServiceController(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		svc        *v1.Service
		wantWrites []string
	}{
		{"new Service: finalizer and pool ride on the status patch", lbService("new"), []string{"patch services/status"}},
		{"addresses held, pool and finalizer not recorded: a patch of its own", vip(lbService("held", "192.0.2.1")), []string{"patch services"}},
		{"addresses held without ipMode: finalizer and pool ride on the status patch", lbService("old", "192.0.2.1"), []string{"patch services/status"}},
		{"addresses and pool recorded, no finalizer: a patch of its own", func() *v1.Service {
			svc := vip(lbService("nofinalizer", "192.0.2.1"))
			svc.Annotations = map[string]string{AnnotationAllocatedPool: "main"}
			return svc
		}(), []string{"patch services"}},
		{"addresses, pool and finalizer recorded: no write", func() *v1.Service {
			svc := vip(lbService("done", "192.0.2.1"))
			svc.Annotations = map[string]string{AnnotationAllocatedPool: "main"}
			svc.Finalizers = []string{"example.com/other", servicehelper.LoadBalancerCleanupFinalizer}
			return svc
		}(), nil},
		{"new Service with a finalizer of another: both kept", func() *v1.Service {
			svc := lbService("other")
			svc.Finalizers = []string{"example.com/other"}
			return svc
		}(), []string{"patch services/status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lb, sc, client := adapted(t, tc.svc)
			client.ClearActions()
			view, _ := serviceControllerView(tc.svc.DeepCopy())
			syncLike(t, lb, sc, view.(*v1.Service))
			if diff := cmp.Diff(tc.wantWrites, writes(client)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			got, err := client.CoreV1().Services("default").Get(ctx, tc.svc.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Annotations[AnnotationAllocatedPool] != "main" || len(got.Status.LoadBalancer.Ingress) != 1 {
				t.Errorf("after a sync: annotations %v, status %+v; want the pool main and one address", got.Annotations, got.Status.LoadBalancer)
			}
			if !servicehelper.HasLBFinalizer(got) || len(got.Finalizers) != len(tc.svc.Finalizers)+boolInt(!servicehelper.HasLBFinalizer(tc.svc)) {
				t.Errorf("after a sync the finalizers are %v; want those of before %v and the cleanup finalizer", got.Finalizers, tc.svc.Finalizers)
			}
			if m, ok := lb.pendingMetaOf("default/" + tc.svc.Name); ok {
				t.Errorf("%s still pending after the status patch", m)
			}
		})
	}
}

func TestForServiceControllerFailedPatch(t *testing.T) {
	lb, sc, client := adapted(t, lbService("web"))
	client.PrependReactor("patch", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "web", nil)
	})
	st, err := lb.EnsureLoadBalancer(context.Background(), "", lbService("web"), nil)
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"status":{"loadBalancer":{"ingress":[{"ip":"` + st.Ingress[0].IP + `"}]}}}`
	if _, err := sc.CoreV1().Services("default").Patch(context.Background(), "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err == nil {
		t.Fatal("the patch did not fail")
	}
	if m, ok := lb.pendingMetaOf("default/web"); !ok || m.pool != "main" {
		t.Errorf("after a failed status patch the pending pool is %q, %v; want main for the retry", m.pool, ok)
	}
	if err := lb.EnsureLoadBalancerDeleted(context.Background(), "", lbService("web")); err != nil {
		t.Fatal(err)
	}
	if m, ok := lb.pendingMetaOf("default/web"); ok {
		t.Errorf("%s still pending after EnsureLoadBalancerDeleted", m)
	}
}

func TestServiceControllerView(t *testing.T) {
	for _, tc := range []struct {
		name              string
		annotations, want map[string]string
	}{
		{"others kept", map[string]string{AnnotationAllocatedPool: "main", AnnotationPool: "main"}, map[string]string{AnnotationPool: "main"}},
		// The upstream needsUpdate compares annotations with
		// reflect.DeepEqual: an empty map would differ from the nil one
		// the Service had before the pool was written, and make the
		// controller sync it again.
		{"only the pool: nil, not empty", map[string]string{AnnotationAllocatedPool: "main"}, nil},
		{"none", nil, nil},
		{"empty stays empty", map[string]string{}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := lbService("web")
			svc.Annotations = tc.annotations
			svc.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
			got, err := serviceControllerView(svc)
			if err != nil {
				t.Fatal(err)
			}
			want := lbService("web")
			want.CreationTimestamp = svc.CreationTimestamp
			want.Annotations = tc.want
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the service controller's view (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithMetaPool(t *testing.T) {
	for _, tc := range []struct{ name, patch, want string }{
		{"status only", `{"status":{"loadBalancer":{}}}`, `{"metadata":{"annotations":{"floatlb.io/allocated-pool":"p"}},"status":{"loadBalancer":{}}}`},
		{"other annotations kept", `{"metadata":{"annotations":{"a":"b"},"finalizers":["f"]}}`, `{"metadata":{"annotations":{"a":"b","floatlb.io/allocated-pool":"p"},"finalizers":["f"]}}`},
		{"empty", `{}`, `{"metadata":{"annotations":{"floatlb.io/allocated-pool":"p"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withMeta([]byte(tc.patch), pendingMeta{pool: "p"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestForServiceControllerFailedEnsure(t *testing.T) {
	lb, sc, client := adapted(t)
	svc := lbService("web")
	svc.Annotations = map[string]string{AnnotationPool: "nope"}
	if _, err := client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	updated := svc.DeepCopy()
	updated.Finalizers = []string{servicehelper.LoadBalancerCleanupFinalizer}
	client.ClearActions()
	if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); err != nil {
		t.Fatal(err)
	}
	if w := writes(client); len(w) != 0 {
		t.Errorf("the finalizer patch was written (%v); want it held back for the status patch", w)
	}
	if _, err := lb.EnsureLoadBalancer(context.Background(), "", svc, nil); err == nil {
		t.Fatal("EnsureLoadBalancer of a Service asking for a pool that does not exist did not fail")
	}
	if m, ok := lb.pendingMetaOf("default/web"); ok {
		t.Errorf("%s still pending after EnsureLoadBalancer failed; the controller holds the finalizer back again before its retry", m)
	}
}

func TestAddsOnlyCleanupFinalizer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		patch string
		want  bool
	}{
		{"the service controller's first finalizer", `{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`, true},
		{"beside another finalizer", `{"metadata":{"$setElementOrder/finalizers":[{"a":1}],"finalizers":["example.com/x","service.kubernetes.io/load-balancer-cleanup"]}}`, true},
		{"another finalizer only", `{"metadata":{"finalizers":["example.com/x"]}}`, false},
		{"with the status", `{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]},"status":{"loadBalancer":{}}}`, false},
		{"with annotations", `{"metadata":{"annotations":{"a":"b"},"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`, false},
		{"removal", `{"metadata":{"finalizers":null}}`, false},
		{"status only", `{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}`, false},
		{"not JSON", `{`, false},
		{"empty", `{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := addsOnlyCleanupFinalizer([]byte(tc.patch)); got != tc.want {
				t.Errorf("addsOnlyCleanupFinalizer(%s) = %v, want %v", tc.patch, got, tc.want)
			}
		})
	}
}

func TestWithMetaFinalizer(t *testing.T) {
	for _, tc := range []struct {
		name, patch string
		meta        pendingMeta
		want        string
	}{
		{"finalizer only", `{"status":{"loadBalancer":{}}}`, pendingMeta{finalizer: true}, `{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]},"status":{"loadBalancer":{}}}`},
		{"finalizer and pool", `{}`, pendingMeta{pool: "p", finalizer: true}, `{"metadata":{"annotations":{"floatlb.io/allocated-pool":"p"},"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`},
		{"finalizer there already", `{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`, pendingMeta{finalizer: true}, `{"metadata":{"finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := withMeta([]byte(tc.patch), tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuietEvents(t *testing.T) {
	_, sc, client := adapted(t)
	client.ClearActions()
	sink := sc.CoreV1().Events("")
	for _, e := range []*v1.Event{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "a"}, Type: v1.EventTypeNormal, Reason: "EnsuringLoadBalancer"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "b"}, Type: v1.EventTypeNormal, Reason: "EnsuredLoadBalancer"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "c"}, Type: v1.EventTypeWarning, Reason: "SyncLoadBalancerFailed"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "d"}, Type: v1.EventTypeNormal, Reason: "DeletingLoadBalancer"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "e"}, Type: v1.EventTypeNormal, Reason: "DeletedLoadBalancer"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "f"}, Type: v1.EventTypeNormal, Reason: "UpdatedLoadBalancer"},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "g"}, Type: v1.EventTypeWarning, Reason: "UnAvailableLoadBalancer"},
	} {
		if _, err := sink.CreateWithEventNamespace(e); err != nil {
			t.Fatal(err)
		}
		if dropped(e) {
			if _, err := sink.PatchWithEventNamespace(e, []byte(`{"count":2}`)); err != nil {
				t.Errorf("patching the dropped Event %s: %v", e.Reason, err)
			}
			if _, err := sink.UpdateWithEventNamespace(e); err != nil {
				t.Errorf("updating the dropped Event %s: %v", e.Reason, err)
			}
		}
	}
	var created []string
	for _, a := range client.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok {
			created = append(created, c.GetObject().(*v1.Event).Reason)
		}
	}
	if diff := cmp.Diff([]string{"SyncLoadBalancerFailed", "DeletedLoadBalancer", "UnAvailableLoadBalancer"}, created); diff != "" {
		t.Errorf("Events written (-want +got):\n%s", diff)
	}
}

// inUse sums the addresses the LoadBalancer's pools hold.
func inUse(lb *LoadBalancer) uint64 {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	var n uint64
	for _, s := range lb.alloc.Stats() {
		n += s.InUse
	}
	return n
}

// A Service deleted between the held-back finalizer and the status patch:
// the patch finds no Service and its address is freed, since the service
// controller ignores the error and never syncs the key again.
func TestForServiceControllerServiceGoneBeforeStatus(t *testing.T) {
	lb, sc, client := adapted(t, lbService("web"))
	svc := lbService("web")
	updated := svc.DeepCopy()
	updated.Finalizers = []string{servicehelper.LoadBalancerCleanupFinalizer}
	if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); err != nil {
		t.Fatal(err)
	}
	st, err := lb.EnsureLoadBalancer(context.Background(), "", svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := inUse(lb); n != 1 {
		t.Fatalf("%d addresses in use after EnsureLoadBalancer, want 1", n)
	}
	if err := client.CoreV1().Services("default").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	updated = svc.DeepCopy()
	updated.Status.LoadBalancer = *st
	if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); !apierrors.IsNotFound(err) {
		t.Fatalf("status patch of a deleted Service: %v, want NotFound", err)
	}
	if n := inUse(lb); n != 0 {
		t.Errorf("%d addresses in use after the status patch found no Service, want 0", n)
	}
	if m, ok := lb.pendingMetaOf("default/web"); ok {
		t.Errorf("%s still pending for a Service that is gone", m)
	}
}

// The service controller's removeFinalizer patch never carries pending
// metadata: merged in, the finalizer held back would undo the removal.
func TestForServiceControllerRemovalCarriesNothing(t *testing.T) {
	svc := lbService("web")
	svc.Finalizers = []string{servicehelper.LoadBalancerCleanupFinalizer}
	lb, sc, client := adapted(t, svc)
	lb.holdFinalizer("default/web")
	updated := svc.DeepCopy()
	updated.Finalizers = nil
	client.ClearActions()
	if _, err := servicehelper.PatchService(sc.CoreV1(), svc, updated); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Services("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Finalizers) != 0 {
		t.Errorf("after the removal patch the finalizers are %v, want none", got.Finalizers)
	}
}

func TestTouchesFinalizers(t *testing.T) {
	for _, tc := range []struct {
		patch string
		want  bool
	}{
		{`{"status":{"loadBalancer":{}}}`, false},
		{`{"metadata":{"annotations":{"a":"b"}},"status":{}}`, false},
		{`{"metadata":{"finalizers":null}}`, true},
		{`{"metadata":{"$deleteFromPrimitiveList/finalizers":["service.kubernetes.io/load-balancer-cleanup"]}}`, true},
		{`{"metadata":{"$setElementOrder/finalizers":["x"]}}`, true},
		{`{`, true},
	} {
		if got := touchesFinalizers([]byte(tc.patch)); got != tc.want {
			t.Errorf("touchesFinalizers(%s) = %v, want %v", tc.patch, got, tc.want)
		}
	}
}

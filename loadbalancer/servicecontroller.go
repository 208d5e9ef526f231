package loadbalancer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	servicehelper "k8s.io/cloud-provider/service/helpers"
	"k8s.io/klog/v2"
)

// The upstream service controller adds its cleanup finalizer with a patch of
// the status subresource, calls EnsureLoadBalancer, writes the status it
// returns with a second status patch, and records the Events
// EnsuringLoadBalancer and EnsuredLoadBalancer; it syncs a Service again
// whenever any of its annotations changes. Left alone, that and recording
// the pool cost a new Service six writes and a second sync. For an
// allocator that answers from memory the floor is one write, the status;
// ForServiceController brings the controller to it:
//
//   - the client it returns holds the finalizer patch back and adds the
//     finalizer, and the pool annotation, to the status patch that follows
//     EnsureLoadBalancer, so address, pool and finalizer are one write and
//     appear together (when no status patch follows, EnsureLoadBalancer
//     writes what is held back with one patch of its own);
//   - the service controller's informer never sees the annotation, so
//     writing it does not make the controller sync the Service again;
//   - of its Events, only the Warnings and DeletedLoadBalancer go to the
//     API server (see quietEvents).
//
// Holding the finalizer back is safe because nothing outside floatlb-ccm's
// memory exists for a Service before its status holds the address: the
// status patch of a Service deleted before that write finds no Service,
// and then its addresses are freed (releaseGone); one deleted while
// floatlb-ccm is down never had an address written.

// ForServiceController adapts the upstream service controller to the
// LoadBalancer: it sets the transform of the controller's Service informer,
// which must not have started, and returns the client to give the
// controller in place of client.
func (lb *LoadBalancer) ForServiceController(client kubernetes.Interface, services cache.SharedIndexInformer) (kubernetes.Interface, error) {
	if err := services.SetTransform(serviceControllerView); err != nil {
		return nil, fmt.Errorf("setting the service controller's Service transform: %w", err)
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.pending = map[string]pendingMeta{}
	return statusClient{Interface: client, lb: lb}, nil
}

// pendingMeta is the metadata the service controller's next status patch of
// a Service carries.
type pendingMeta struct {
	pool      string // the annotation floatlb.io/allocated-pool; "" for none
	finalizer bool   // the load balancer cleanup finalizer
}

// serviceControllerView is what the service controller sees of a Service:
// all but the annotation floatlb.io/allocated-pool and the managed fields,
// which it never reads but copies and diffs on every sync.
func serviceControllerView(obj any) (any, error) {
	svc, ok := obj.(*v1.Service)
	if !ok {
		return obj, nil
	}
	svc.ManagedFields = nil
	if _, ok := svc.Annotations[AnnotationAllocatedPool]; ok {
		delete(svc.Annotations, AnnotationAllocatedPool)
		if len(svc.Annotations) == 0 {
			// As before the annotation was written: the controller's
			// needsUpdate tells a nil map from an empty one.
			svc.Annotations = nil
		}
	}
	return svc, nil
}

// recordMeta sees to it that svc's pool and the finalizer the service
// controller held back get written: on the status patch that follows when
// the controller is about to write st, else now with one patch.
func (lb *LoadBalancer) recordMeta(ctx context.Context, svc *v1.Service, pool string, st *v1.LoadBalancerStatus) error {
	key := serviceKey(svc)
	lb.mu.Lock()
	want := pendingMeta{finalizer: lb.pending[key].finalizer}
	if lb.recordedPool(svc) != pool {
		want.pool = pool
	}
	// The service controller's own test of whether it patches the status.
	if lb.pending != nil && want != (pendingMeta{}) && !servicehelper.LoadBalancerStatusEqual(&svc.Status.LoadBalancer, st) {
		lb.pending[key] = want
		lb.mu.Unlock()
		return nil
	}
	delete(lb.pending, key)
	lb.mu.Unlock()
	if want == (pendingMeta{}) {
		return nil
	}
	return lb.patchMeta(ctx, svc, want)
}

// patchMeta writes meta to svc with one patch.
func (lb *LoadBalancer) patchMeta(ctx context.Context, svc *v1.Service, meta pendingMeta) error {
	patch, err := withMeta([]byte(`{}`), meta)
	if err != nil {
		return err
	}
	_, err = lb.client.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.StrategicMergePatchType, patch, metaPatchOptions)
	if err != nil {
		return fmt.Errorf("recording %s on %s: %w", meta, serviceKey(svc), err)
	}
	return nil
}

func (m pendingMeta) String() string {
	switch {
	case m.pool != "" && m.finalizer:
		return fmt.Sprintf("pool %q and the cleanup finalizer", m.pool)
	case m.finalizer:
		return "the cleanup finalizer"
	}
	return fmt.Sprintf("pool %q", m.pool)
}

// holdFinalizer notes that the service controller's finalizer patch of key
// was held back for its next status patch.
func (lb *LoadBalancer) holdFinalizer(key string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	meta := lb.pending[key]
	meta.finalizer = true
	lb.pending[key] = meta
}

// pendingMetaOf returns what the next status patch of key carries.
func (lb *LoadBalancer) pendingMetaOf(key string) (pendingMeta, bool) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	meta, ok := lb.pending[key]
	return meta, ok
}

// metaWritten forgets what a status patch of key wrote.
func (lb *LoadBalancer) metaWritten(key string, meta pendingMeta) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.pending[key] == meta {
		delete(lb.pending, key)
	}
}

// recordedPool is the annotation floatlb.io/allocated-pool of svc. The
// service controller's copy lacks it: then the LoadBalancer's own informer
// answers.
func (lb *LoadBalancer) recordedPool(svc *v1.Service) string {
	if pool, ok := svc.Annotations[AnnotationAllocatedPool]; ok {
		return pool
	}
	if lb.services != nil {
		if cur, err := lb.services.Services(svc.Namespace).Get(svc.Name); err == nil && cur.UID == svc.UID {
			return cur.Annotations[AnnotationAllocatedPool]
		}
	}
	return ""
}

// statusClient is the service controller's client: its finalizer patches
// are held back, its status patches of Services carry the pending
// metadata, and its Events are quietEvents.
type statusClient struct {
	kubernetes.Interface
	lb *LoadBalancer
}

func (c statusClient) CoreV1() typedcorev1.CoreV1Interface {
	return statusCore{CoreV1Interface: c.Interface.CoreV1(), lb: c.lb}
}

type statusCore struct {
	typedcorev1.CoreV1Interface
	lb *LoadBalancer
}

func (c statusCore) Services(namespace string) typedcorev1.ServiceInterface {
	return statusServices{ServiceInterface: c.CoreV1Interface.Services(namespace), namespace: namespace, lb: c.lb}
}

func (c statusCore) Events(namespace string) typedcorev1.EventInterface {
	return quietEvents{EventInterface: c.CoreV1Interface.Events(namespace)}
}

type statusServices struct {
	typedcorev1.ServiceInterface
	namespace string
	lb        *LoadBalancer
}

func (s statusServices) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*v1.Service, error) {
	if pt != types.StrategicMergePatchType || len(subresources) != 1 || subresources[0] != "status" {
		return s.ServiceInterface.Patch(ctx, name, pt, data, opts, subresources...)
	}
	key := s.namespace + "/" + name
	if addsOnlyCleanupFinalizer(data) {
		s.lb.holdFinalizer(key)
		// The service controller does not read the answer.
		return &v1.Service{ObjectMeta: metav1.ObjectMeta{
			Namespace: s.namespace, Name: name,
			Finalizers: []string{servicehelper.LoadBalancerCleanupFinalizer},
		}}, nil
	}
	meta, ok := s.lb.pendingMetaOf(key)
	if ok && !touchesFinalizers(data) {
		if with, err := withMeta(data, meta); err == nil {
			data = with
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	out, err := s.ServiceInterface.Patch(ctx, name, pt, data, opts, subresources...)
	switch {
	case err == nil && ok:
		s.lb.metaWritten(key, meta)
	case apierrors.IsNotFound(err):
		s.lb.releaseGone(ctx, key)
	}
	return out, err
}

// releaseGone frees the addresses of key, a Service that is gone: its
// status patch found no Service of that name. The service controller
// ignores that error and, having no handler for deletions, never syncs
// the key again; had the finalizer been written apart, its patch would
// have failed first and the controller's retry freed the addresses.
func (lb *LoadBalancer) releaseGone(ctx context.Context, key string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.release(key) {
		klog.FromContext(ctx).V(2).Info("Released the addresses of a Service deleted before its status was written", "service", key)
	}
}

// patchMetadata decodes a JSON patch's top level and its metadata.
func patchMetadata(patch []byte) (top, metadata map[string]json.RawMessage, err error) {
	if err := json.Unmarshal(patch, &top); err != nil {
		return nil, nil, err
	}
	if m, ok := top["metadata"]; ok {
		if err := json.Unmarshal(m, &metadata); err != nil {
			return nil, nil, err
		}
	}
	return top, metadata, nil
}

// touchesFinalizers tells whether a strategic merge patch changes the
// finalizers (as the service controller's removeFinalizer does): the
// pending metadata is not added to such a patch.
func touchesFinalizers(patch []byte) bool {
	_, metadata, err := patchMetadata(patch)
	if err != nil {
		return true
	}
	for k := range metadata {
		if strings.Contains(k, "finalizers") {
			return true
		}
	}
	return false
}

// addsOnlyCleanupFinalizer tells whether a strategic merge patch of a
// Service's status subresource does nothing but add the load balancer
// cleanup finalizer, as the service controller's addFinalizer does.
func addsOnlyCleanupFinalizer(patch []byte) bool {
	top, metadata, err := patchMetadata(patch)
	if err != nil || len(top) != 1 {
		return false
	}
	var finalizers []string
	for k, v := range metadata {
		switch k {
		case "finalizers":
			if json.Unmarshal(v, &finalizers) != nil {
				return false
			}
		case "$setElementOrder/finalizers":
		default:
			return false
		}
	}
	return slices.Contains(finalizers, servicehelper.LoadBalancerCleanupFinalizer)
}

// withMeta adds meta to a strategic merge patch of a Service: the pool
// annotation, and the cleanup finalizer (finalizers merge, so the others
// stay).
func withMeta(patch []byte, meta pendingMeta) ([]byte, error) {
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	if p == nil {
		p = map[string]any{}
	}
	m, _ := p["metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		p["metadata"] = m
	}
	if meta.pool != "" {
		annotations, _ := m["annotations"].(map[string]any)
		if annotations == nil {
			annotations = map[string]any{}
			m["annotations"] = annotations
		}
		annotations[AnnotationAllocatedPool] = meta.pool
	}
	if meta.finalizer {
		finalizers, _ := m["finalizers"].([]any)
		if !slices.Contains(finalizers, any(servicehelper.LoadBalancerCleanupFinalizer)) {
			m["finalizers"] = append(finalizers, servicehelper.LoadBalancerCleanupFinalizer)
		}
	}
	return json.Marshal(p)
}

// quietEvents is the service controller's Event sink. It writes the
// controller's Warning Events and DeletedLoadBalancer, and drops the Normal
// Events that tell nothing the Service's status, the Warnings and the
// announcers' floatlb.io/Announced do not (droppedReasons). In a burst of
// new Services they were half of floatlb-ccm's API writes.
type quietEvents struct {
	typedcorev1.EventInterface
}

// droppedReasons are the upstream service controller's Normal Event
// reasons that quietEvents drops: the "-ing" ones, which the result follows
// within microseconds because floatlb answers from memory;
// EnsuredLoadBalancer, which says what the status says; and
// UpdatedLoadBalancer, which reports node changes that floatlb-ccm ignores
// (the announcers follow nodes), once per Service on every change.
var droppedReasons = map[string]bool{
	"EnsuringLoadBalancer": true,
	"EnsuredLoadBalancer":  true,
	"DeletingLoadBalancer": true,
	"UpdatedLoadBalancer":  true,
}

func dropped(e *v1.Event) bool {
	return e.Type == v1.EventTypeNormal && droppedReasons[e.Reason]
}

func (q quietEvents) CreateWithEventNamespace(e *v1.Event) (*v1.Event, error) {
	if dropped(e) {
		return e, nil
	}
	return q.EventInterface.CreateWithEventNamespace(e)
}

func (q quietEvents) UpdateWithEventNamespace(e *v1.Event) (*v1.Event, error) {
	if dropped(e) {
		return e, nil
	}
	return q.EventInterface.UpdateWithEventNamespace(e)
}

func (q quietEvents) PatchWithEventNamespace(e *v1.Event, data []byte) (*v1.Event, error) {
	if dropped(e) {
		return e, nil
	}
	return q.EventInterface.PatchWithEventNamespace(e, data)
}

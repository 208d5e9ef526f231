package loadbalancer

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	servicehelper "k8s.io/cloud-provider/service/helpers"
)

// The upstream service controller calls EnsureLoadBalancer and then writes
// the status it returns with a strategic merge patch of the status
// subresource; it syncs a Service again whenever any of its annotations
// changes. Left alone, recording the pool costs one patch of its own and a
// second sync of every new Service (two more Events, and often a second
// status patch from an informer that has not seen the first yet).
// ForServiceController avoids both:
//
//   - the client it returns adds the annotation to the status patch that
//     follows EnsureLoadBalancer, so address and pool are one write (and
//     appear together);
//   - the service controller's informer never sees the annotation, so
//     writing it does not make the controller sync the Service again.
//
// EnsureLoadBalancer still patches the annotation itself when the service
// controller will not patch the status (it holds its addresses already).

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
	lb.pending = map[string]string{}
	return statusClient{Interface: client, lb: lb}, nil
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

// poolWithStatus decides how svc's pool gets recorded when the service
// controller is about to write st: true when the pool rides on that status
// patch, false when the caller must patch it.
func (lb *LoadBalancer) poolWithStatus(svc *v1.Service, pool string, st *v1.LoadBalancerStatus) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	// The service controller's own test of whether it patches the status.
	if lb.pending == nil || servicehelper.LoadBalancerStatusEqual(&svc.Status.LoadBalancer, st) {
		return false
	}
	lb.pending[serviceKey(svc)] = pool
	return true
}

// pendingPool returns the pool the next status patch of key carries.
func (lb *LoadBalancer) pendingPool(key string) (string, bool) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	pool, ok := lb.pending[key]
	return pool, ok
}

// poolWritten forgets the pending pool of key once a patch wrote it.
func (lb *LoadBalancer) poolWritten(key, pool string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.pending[key] == pool {
		delete(lb.pending, key)
	}
}

// forgetPending drops what svc's next status patch would have carried.
// lb.mu is held.
func (lb *LoadBalancer) forgetPending(svc *v1.Service) {
	if lb.pending != nil {
		delete(lb.pending, serviceKey(svc))
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

// statusClient is the service controller's client; its status patches of
// Services carry the pending pool annotation.
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

type statusServices struct {
	typedcorev1.ServiceInterface
	namespace string
	lb        *LoadBalancer
}

func (s statusServices) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (*v1.Service, error) {
	key := s.namespace + "/" + name
	pool, ok := s.lb.pendingPool(key)
	if ok && pt == types.StrategicMergePatchType && len(subresources) == 1 && subresources[0] == "status" {
		if withPool, err := withPoolAnnotation(data, pool); err == nil {
			data = withPool
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	out, err := s.ServiceInterface.Patch(ctx, name, pt, data, opts, subresources...)
	if err == nil && ok {
		s.lb.poolWritten(key, pool)
	}
	return out, err
}

// withPoolAnnotation adds the annotation floatlb.io/allocated-pool to a
// JSON patch of a Service.
func withPoolAnnotation(patch []byte, pool string) ([]byte, error) {
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	if p == nil {
		p = map[string]any{}
	}
	meta, _ := p["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		p["metadata"] = meta
	}
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[AnnotationAllocatedPool] = pool
	return json.Marshal(p)
}

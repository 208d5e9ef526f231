package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/api"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/config"
	"github.com/floatlb/floatlb/loadbalancer/ipam"
)

var _ cloudprovider.LoadBalancer = &LoadBalancer{}

// How long the service controller waits before asking again when the answer
// depends on something else changing. Short for what ends by itself or by an
// operator's config change, longer for what needs a user to act.
const (
	retrySoon  = 5 * time.Second
	retryLater = 30 * time.Second
)

// LoadBalancer allocates Services' addresses. Its methods block until Start
// has rebuilt the allocator from the Services' status.
type LoadBalancer struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	recorder record.EventRecorder
	metrics  *Metrics

	ready     chan struct{} // closed when the allocator has been rebuilt
	readyOnce sync.Once

	mu        sync.Mutex
	alloc     *ipam.Allocator // nil until a valid config was read
	cfg       *config.Config
	configErr error  // why the config last read was refused, or nil
	configRV  string // resourceVersion of the ConfigMap last read
	// pending maps a Service to the metadata that the service
	// controller's next status patch of it carries; nil unless
	// ForServiceController adapted that controller.
	pending map[string]pendingMeta
}

// New returns a LoadBalancer that is not started.
func New(m *Metrics) *LoadBalancer {
	return &LoadBalancer{metrics: m, ready: make(chan struct{})}
}

// Start wires the LoadBalancer to the cluster: services must be synced, cm
// is the config's ConfigMap (nil when there is none yet). It rebuilds the
// allocator and then lets the waiting calls through.
func (lb *LoadBalancer) Start(ctx context.Context, client kubernetes.Interface, services corelisters.ServiceLister, recorder record.EventRecorder, cm *v1.ConfigMap) {
	lb.mu.Lock()
	lb.client, lb.services, lb.recorder = client, services, recorder
	lb.mu.Unlock()
	lb.SetConfig(ctx, cm)
	lb.readyOnce.Do(func() { close(lb.ready) })
}

// wait blocks until Start has run.
func (lb *LoadBalancer) wait(ctx context.Context) error {
	select {
	case <-lb.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// GetLoadBalancer reports the addresses svc holds.
func (lb *LoadBalancer) GetLoadBalancer(ctx context.Context, _ string, svc *v1.Service) (*v1.LoadBalancerStatus, bool, error) {
	if err := lb.wait(ctx); err != nil {
		return nil, false, err
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.alloc == nil {
		return nil, false, nil
	}
	asg, ok := lb.alloc.Assignment(serviceKey(svc))
	if !ok {
		return nil, false, nil
	}
	return statusOf(asg), true, nil
}

// GetLoadBalancerName returns the upstream default name.
func (lb *LoadBalancer) GetLoadBalancerName(_ context.Context, _ string, svc *v1.Service) string {
	return cloudprovider.DefaultLoadBalancerName(svc)
}

// EnsureLoadBalancer allocates svc's addresses, or finds those it holds, and
// records the pool in the annotation floatlb.io/allocated-pool when it
// differs: with the service controller's status patch when there is one
// (see ForServiceController), else with a patch of its own. Nodes do not
// matter: the announcer decides who makes the addresses reachable.
func (lb *LoadBalancer) EnsureLoadBalancer(ctx context.Context, _ string, svc *v1.Service, _ []*v1.Node) (*v1.LoadBalancerStatus, error) {
	if err := lb.wait(ctx); err != nil {
		return nil, err
	}
	logger := klog.FromContext(ctx).WithValues("service", klog.KObj(svc))
	asg, err := lb.allocate(svc)
	if err != nil {
		logger.V(2).Info("No address for the Service", "err", err)
		// No status patch follows; the service controller holds the
		// finalizer back again before it asks again.
		lb.mu.Lock()
		delete(lb.pending, serviceKey(svc))
		lb.mu.Unlock()
		return nil, err
	}
	st := statusOf(asg)
	if err := lb.recordMeta(ctx, svc, asg.Pool, st); err != nil {
		return nil, err
	}
	logger.V(2).Info("Service holds its addresses", "pool", asg.Pool, "ip", asg.IPs)
	return st, nil
}

func (lb *LoadBalancer) allocate(svc *v1.Service) (ipam.Assignment, error) {
	req, err := requestFor(svc)
	if err != nil {
		lb.metrics.AllocationErrors.WithLabelValues("invalid").Inc()
		return ipam.Assignment{}, err
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.alloc == nil {
		lb.metrics.AllocationErrors.WithLabelValues("no_config").Inc()
		if lb.configErr != nil {
			return ipam.Assignment{}, api.NewRetryError(fmt.Sprintf("the floatlb config is invalid, so no pool is known yet: %v", lb.configErr), retrySoon)
		}
		return ipam.Assignment{}, api.NewRetryError("no floatlb config yet: create the ConfigMap with the key config.yaml and at least one pool (see docs/config.md)", retrySoon)
	}
	asg, err := lb.alloc.Allocate(req)
	if err != nil {
		return ipam.Assignment{}, lb.retryable(err)
	}
	lb.metrics.observePools(lb.alloc.Stats())
	return asg, nil
}

// retryable wraps allocation errors that end when something else changes so
// that the service controller asks again soon instead of backing off for
// minutes.
func (lb *LoadBalancer) retryable(err error) error {
	switch {
	case errors.Is(err, ipam.ErrExhausted):
		lb.metrics.AllocationErrors.WithLabelValues("exhausted").Inc()
		return api.NewRetryError(err.Error(), retrySoon)
	case errors.Is(err, ipam.ErrInUse):
		lb.metrics.AllocationErrors.WithLabelValues("in_use").Inc()
		return api.NewRetryError(err.Error(), retryLater)
	case errors.Is(err, ipam.ErrNoPool):
		lb.metrics.AllocationErrors.WithLabelValues("no_pool").Inc()
		return api.NewRetryError(err.Error(), retryLater)
	}
	lb.metrics.AllocationErrors.WithLabelValues("invalid").Inc()
	return err
}

// UpdateLoadBalancer has nothing to do: node changes are the announcer's.
func (lb *LoadBalancer) UpdateLoadBalancer(context.Context, string, *v1.Service, []*v1.Node) error {
	return nil
}

// EnsureLoadBalancerDeleted frees svc's addresses.
func (lb *LoadBalancer) EnsureLoadBalancerDeleted(ctx context.Context, _ string, svc *v1.Service) error {
	if err := lb.wait(ctx); err != nil {
		return err
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.release(serviceKey(svc)) {
		klog.FromContext(ctx).V(2).Info("Released the Service's addresses", "service", klog.KObj(svc))
	}
	return nil
}

// release frees the addresses of the Service key and forgets what its next
// status patch would have carried; false when there is no allocator yet.
// lb.mu is held.
func (lb *LoadBalancer) release(key string) bool {
	delete(lb.pending, key)
	if lb.alloc == nil {
		return false
	}
	lb.alloc.Release(key)
	lb.metrics.observePools(lb.alloc.Stats())
	return true
}

// statusOf is the status the service controller writes for asg.
func statusOf(asg ipam.Assignment) *v1.LoadBalancerStatus {
	vip := v1.LoadBalancerIPModeVIP
	st := &v1.LoadBalancerStatus{}
	for _, ip := range asg.IPs {
		st.Ingress = append(st.Ingress, v1.LoadBalancerIngress{IP: ip.String(), IPMode: &vip})
	}
	return st
}

// restore rebuilds a new allocator from every Service's status, oldest
// Service first so that the older of two claims on one address wins.
func (lb *LoadBalancer) restore(ctx context.Context, alloc *ipam.Allocator) error {
	all, err := lb.services.List(labelsEverything)
	if err != nil {
		return fmt.Errorf("listing Services: %w", err)
	}
	sort.Slice(all, func(i, j int) bool {
		ti, tj := all[i].CreationTimestamp, all[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return serviceKey(all[i]) < serviceKey(all[j])
	})
	logger := klog.FromContext(ctx)
	restored := 0
	for _, svc := range all {
		if !isOurs(svc) || len(svc.Status.LoadBalancer.Ingress) == 0 {
			continue
		}
		req, err := requestFor(svc)
		if err != nil {
			// The annotation is bad but the status still holds addresses: keep them.
			req = ipam.Request{Service: serviceKey(svc), Namespace: svc.Namespace, Current: statusIPs(svc)}
		}
		asg, err := alloc.Restore(req)
		if len(asg.IPs) > 0 {
			restored++
		}
		var inUse *ipam.InUseError
		for _, e := range unjoin(err) {
			if errors.As(e, &inUse) {
				lb.conflict(ctx, svc, inUse)
			}
		}
	}
	logger.Info("Rebuilt the allocator from the Services' status", "services", restored)
	return nil
}

// conflict reports that svc claims an address an older Service holds.
func (lb *LoadBalancer) conflict(ctx context.Context, svc *v1.Service, e *ipam.InUseError) {
	lb.metrics.ConflictingIPs.Inc()
	klog.FromContext(ctx).Error(e, "Two Services claim one address; the older keeps it", "service", klog.KObj(svc), "ip", e.IP, "holder", e.Holder)
	if lb.recorder == nil {
		return
	}
	lb.recorder.Eventf(svc, v1.EventTypeWarning, ReasonConflictingIP,
		"%s is also claimed by the older Service %s, which keeps it; this Service gets no address until you give it another with the annotation %s or delete and recreate it", e.IP, e.Holder, AnnotationLoadBalancerIPs)
	if older, err := lb.services.Services(namespaceOf(e.Holder)).Get(nameOf(e.Holder)); err == nil {
		lb.recorder.Eventf(older, v1.EventTypeWarning, ReasonConflictingIP,
			"%s is also claimed by the newer Service %s; this Service keeps it", e.IP, serviceKey(svc))
	}
}

// unjoin splits an errors.Join result.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

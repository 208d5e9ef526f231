package announcer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/announcer/apiclient"
	"github.com/floatlb/floatlb/announcer/planner"
	"github.com/floatlb/floatlb/config"
)

// resyncPeriod bounds how long a change the informers do not report (a
// Secret's password) takes to apply.
const resyncPeriod = 30 * time.Second

// Announcer is the node agent.
type Announcer struct {
	opts     Options
	log      logr.Logger
	metrics  *metrics
	recorder record.EventRecorder

	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	nodes     corelisters.NodeLister
	configMap corelisters.ConfigMapLister

	cfg       *config.Config
	configRV  string
	bgp       *bgpMode
	l2        *l2Mode
	vrrp      *vrrpMode
	announced map[string]reported // service key → what this node announces for it, as said in Events
	seeded    bool                // announced holds the state of the first plan, which is not reported
	refused   map[string]bool     // "service ip" already counted as refused

	trigger chan struct{}
	ready   atomic.Bool
}

// New returns an announcer; Run starts it.
func New(opts Options) *Announcer {
	a := &Announcer{
		opts:      opts,
		metrics:   newMetrics(opts.Registerer),
		announced: map[string]reported{},
		refused:   map[string]bool{},
		trigger:   make(chan struct{}, 1),
	}
	return a
}

// Ready reports whether the announcer has synced and applied a first plan.
func (a *Announcer) Ready() bool { return a.ready.Load() }

func (a *Announcer) poke() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Run announces until ctx ends, then withdraws everything this node
// announced before it returns.
func (a *Announcer) Run(ctx context.Context) error {
	a.log = klog.FromContext(ctx).WithValues("node", a.opts.NodeName)
	ctx = klog.NewContext(ctx, a.log)
	client := a.opts.Client

	broadcaster := record.NewBroadcaster(record.WithContext(ctx), eventCorrelation())
	broadcaster.StartRecordingToSink(client.EventSink())
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(client.Scheme(), v1.EventSource{Component: "floatlb-announcer", Host: a.opts.NodeName})
	a.bgp = &bgpMode{log: a.log.WithName("bgp"), metrics: a.metrics, password: a.password, warn: a.configWarning}
	a.l2 = newL2Mode(a.log.WithName("l2"), a.metrics, a.opts.NodeName,
		newLeaseKeeper(client.Leases(a.opts.ConfigNamespace), a.opts.NodeName), a.poke)
	a.l2.conflict = a.splitBrain
	a.vrrp = newVRRPMode(a.log.WithName("vrrp"), a.metrics, a.opts.NodeName, a.event, a.poke)

	informers, err := a.watch(client)
	if err != nil {
		return err
	}
	informerCtx, stopInformers := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stopInformers(); running.Wait() }()
	synced := make([]cache.InformerSynced, len(informers))
	for i, inf := range informers {
		running.Go(func() { inf.RunWithContext(informerCtx) })
		synced[i] = inf.HasSynced
	}
	cache.WaitForCacheSync(ctx.Done(), synced...)
	a.log.Info("Caches synced; announcing")

	leaseCtx, stopLease := context.WithCancel(ctx)
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		a.l2.keepLease(leaseCtx)
	}()
	defer func() { stopLease(); <-leaseDone }()

	resync := time.NewTicker(resyncPeriod)
	defer resync.Stop()
	sessions := time.NewTicker(5 * time.Second)
	defer sessions.Stop()
	a.poke()
	for {
		select {
		case <-ctx.Done():
			stopLease()
			<-leaseDone
			return a.shutdown()
		case <-a.trigger:
			began := time.Now()
			if err := a.reconcile(ctx); err != nil {
				a.log.Error(err, "Applying the plan")
			}
			a.ready.Store(true)
			// Pace: while changes keep coming (thousands of Services at
			// once), rest as long as the last plan took, so planning takes at
			// most half a core; an idle cluster still gets each change at once.
			select {
			case <-time.After(time.Since(began)):
			case <-ctx.Done():
			}
		case <-resync.C:
			a.poke()
		case now := <-sessions.C:
			a.bgp.checkSessions(now)
		}
	}
}

// watch builds the informers of what the announcer reads, and the
// listers over their caches; the caller runs them.
func (a *Announcer) watch(client *apiclient.Client) ([]cache.SharedIndexInformer, error) {
	var (
		informers []cache.SharedIndexInformer
		errs      []error
	)
	add := func(r apiclient.Resource, opts apiclient.InformerOptions, h cache.ResourceEventHandler) cache.Indexer {
		inf, err := client.Informer(r, opts)
		if err == nil {
			_, err = inf.AddEventHandler(h)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("watching %s: %w", r, err))
			return nil
		}
		informers = append(informers, inf)
		return inf.GetIndexer()
	}
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.poke() },
		UpdateFunc: func(_, _ any) { a.poke() },
		DeleteFunc: func(any) { a.poke() },
	}
	slim := apiclient.InformerOptions{Transform: slimObject}
	a.services = corelisters.NewServiceLister(add(apiclient.Services, slim, poke))
	a.slices = discoverylisters.NewEndpointSliceLister(add(apiclient.EndpointSlices, slim, poke))
	a.nodes = corelisters.NewNodeLister(add(apiclient.Nodes, slim, poke))
	a.configMap = corelisters.NewConfigMapLister(add(apiclient.ConfigMaps, apiclient.InformerOptions{
		Namespace:     a.opts.ConfigNamespace,
		FieldSelector: fields.OneTermEqualSelector("metadata.name", a.opts.ConfigName),
	}, poke))
	add(apiclient.Leases, apiclient.InformerOptions{Namespace: a.opts.ConfigNamespace, Transform: dropManagedFields}, a.leaseHandler())
	return informers, errors.Join(errs...)
}

// dropManagedFields keeps the caches small: nothing here reads them, and
// they are often the larger part of an object.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
		m.GetObjectMeta().SetManagedFields(nil)
	}
	return obj, nil
}

// shutdown withdraws everything, with a deadline of its own since the
// context that ran the announcer has ended.
func (a *Announcer) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.log.Info("Stopping: withdrawing every announcement")
	return errors.Join(a.vrrp.close(ctx), a.l2.close(ctx), a.bgp.close(ctx))
}

// loadConfig reads the ConfigMap; an invalid or missing one leaves the last
// good config in force.
func (a *Announcer) loadConfig() {
	cm, err := a.configMap.ConfigMaps(a.opts.ConfigNamespace).Get(a.opts.ConfigName)
	if err != nil {
		if a.cfg == nil {
			a.metrics.configValid.WithLabelValues().Set(0)
		}
		return
	}
	if cm.ResourceVersion == a.configRV {
		return
	}
	a.configRV = cm.ResourceVersion
	cfg, err := config.Load(cm.Data)
	if err != nil {
		a.metrics.configValid.WithLabelValues().Set(0)
		a.log.Error(err, "Refused the floatlb config; the last good config stays in force", "configmap", klog.KObj(cm))
		return
	}
	a.cfg = cfg
	a.metrics.configValid.WithLabelValues().Set(1)
	a.log.Info("Applied the floatlb config", "resourceVersion", cm.ResourceVersion)
}

// reconcile computes the plan from the caches and applies it.
func (a *Announcer) reconcile(ctx context.Context) error {
	a.loadConfig()
	if a.cfg == nil {
		return nil
	}
	in, self, err := a.input()
	if err != nil {
		return err
	}
	plan := planner.Compute(in)
	for _, r := range plan.Refused {
		key := r.Service + " " + r.IP.String()
		if !a.refused[key] {
			a.refused[key] = true
			a.metrics.refused.WithLabelValues(r.Reason.String()).Inc()
			a.log.Info("Refusing to announce an address", "service", r.Service, "ip", r.IP, "reason", r.Reason)
		}
	}
	var errs []error
	routes, err := a.bgp.apply(ctx, a.cfg, plan, self)
	if err != nil {
		errs = append(errs, err)
	}
	a.metrics.announced.WithLabelValues(string(config.ModeBGP)).Set(float64(len(routes)))
	anns := bgpAnnouncements(routes)
	owned, err := a.l2.apply(ctx, a.cfg, plan, self)
	if err != nil {
		errs = append(errs, err)
	}
	a.metrics.announced.WithLabelValues(string(config.ModeL2)).Set(float64(countIPs(owned)))
	held, err := a.vrrp.apply(ctx, a.cfg, plan, self)
	if err != nil {
		errs = append(errs, err)
	}
	a.metrics.announced.WithLabelValues(string(config.ModeVRRP)).Set(float64(held))
	a.report(append(anns, owned...))
	return errors.Join(errs...)
}

// input gathers the planner's input from the caches.
func (a *Announcer) input() (planner.Input, planner.Node, error) {
	nodes, err := a.nodes.List(labels.Everything())
	if err != nil {
		return planner.Input{}, planner.Node{}, err
	}
	in := planner.Input{Config: a.cfg, Node: a.opts.NodeName}
	var self planner.Node
	for _, n := range nodes {
		pn := nodeOf(n)
		in.Nodes = append(in.Nodes, pn)
		if n.Name == a.opts.NodeName {
			self = pn
		}
	}
	services, err := a.services.List(labels.Everything())
	if err != nil {
		return planner.Input{}, planner.Node{}, err
	}
	for _, svc := range services {
		if !wantsAnnouncement(svc) {
			continue
		}
		var slices []*discoveryv1.EndpointSlice
		if svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal {
			sel := labels.SelectorFromSet(labels.Set{labelServiceName: svc.Name})
			slices, _ = a.slices.EndpointSlices(svc.Namespace).List(sel)
		}
		in.Services = append(in.Services, serviceOf(svc, slices))
	}
	return in, self, nil
}

func (a *Announcer) event(key, eventType, reason, msg string) {
	ns, name, _ := strings.Cut(key, "/")
	svc, err := a.services.Services(ns).Get(name)
	if err != nil {
		return // gone: nobody to tell
	}
	a.recorder.Event(svc, eventType, reason, msg)
}

// leaseHandler feeds the announcers' Leases to Layer 2 liveness.
func (a *Announcer) leaseHandler() cache.ResourceEventHandler {
	observe := func(obj any) {
		if l, ok := obj.(*coordinationv1.Lease); ok {
			a.l2.observe(l)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if l, ok := obj.(*coordinationv1.Lease); ok {
				if node, ok := leaseNode(l.Name); ok {
					a.l2.forget(node)
				}
			}
		},
	}
}

// configWarning sends a Warning Event on the floatlb ConfigMap, about
// something the config names (a peer's password Secret).
func (a *Announcer) configWarning(reason, msg string) {
	cm, err := a.configMap.ConfigMaps(a.opts.ConfigNamespace).Get(a.opts.ConfigName)
	if err != nil {
		return
	}
	a.recorder.Event(cm, v1.EventTypeWarning, reason, msg)
}

// password reads a BGP password from its Secret in the config namespace; a
// *passwordMissingError when the Secret or its key does not exist.
func (a *Announcer) password(ctx context.Context, ref *config.SecretKeyRef) (string, error) {
	s, err := a.opts.Client.Secret(ctx, a.opts.ConfigNamespace, ref.Name)
	if apierrors.IsNotFound(err) {
		return "", &passwordMissingError{fmt.Sprintf("Secret %s/%s does not exist", a.opts.ConfigNamespace, ref.Name)}
	}
	if err != nil {
		return "", err
	}
	v, ok := s.Data[ref.Key]
	if !ok {
		return "", &passwordMissingError{fmt.Sprintf("Secret %s/%s has no key %q", a.opts.ConfigNamespace, ref.Name, ref.Key)}
	}
	return string(v), nil
}

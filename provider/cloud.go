package provider

import (
	"context"
	"fmt"
	"io"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/loadbalancer"
)

// Name is the cloud provider name: --cloud-provider=floatlb.
const Name = "floatlb"

// ProviderIDPrefix starts every node's providerID: floatlb://<node-name>.
const ProviderIDPrefix = Name + "://"

var _ cloudprovider.Interface = &cloud{}

// Options configure the provider.
type Options struct {
	// ConfigNamespace and ConfigName locate the floatlb ConfigMap.
	ConfigNamespace, ConfigName string
	Metrics                     *loadbalancer.Metrics
}

type cloud struct {
	opts      Options
	lb        *loadbalancer.LoadBalancer
	instances *instances
}

// New returns the provider. It does nothing until Initialize.
func New(opts Options) cloudprovider.Interface {
	return &cloud{opts: opts, lb: loadbalancer.New(opts.Metrics), instances: &instances{}}
}

// Factory returns a cloudprovider.Factory for RegisterCloudProvider. floatlb
// reads its config from a ConfigMap, not from --cloud-config.
func Factory(opts Options) cloudprovider.Factory {
	return func(io.Reader) (cloudprovider.Interface, error) { return New(opts), nil }
}

// Initialize starts the informers and rebuilds the allocator. It returns at
// once; calls to the LoadBalancer wait until the rebuild is done.
func (c *cloud) Initialize(clientBuilder cloudprovider.ControllerClientBuilder, stop <-chan struct{}) {
	client := clientBuilder.ClientOrDie("floatlb-cloud-provider")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-stop; cancel() }()
	go c.run(klog.NewContext(ctx, klog.Background().WithName("floatlb")), client)
}

func (c *cloud) run(ctx context.Context, client kubernetes.Interface) {
	logger := klog.FromContext(ctx)
	services := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(func(obj any) (any, error) {
		if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
			m.GetObjectMeta().SetManagedFields(nil) // never read; often half an object
		}
		return obj, nil
	}))
	svcInformer := services.Core().V1().Services()
	svcInformer.Informer() // registered before Start
	configs := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(c.opts.ConfigNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", c.opts.ConfigName).String()
		}))
	cmInformer := configs.Core().V1().ConfigMaps()
	cmInformer.Informer()

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "floatlb-ccm"})
	go func() { <-ctx.Done(); broadcaster.Shutdown() }()

	services.Start(ctx.Done())
	configs.Start(ctx.Done())
	start := time.Now()
	for typ, ok := range services.WaitForCacheSync(ctx.Done()) {
		if !ok {
			logger.Error(nil, "Service cache did not sync", "type", typ)
			return
		}
	}
	configs.WaitForCacheSync(ctx.Done())
	cm, err := cmInformer.Lister().ConfigMaps(c.opts.ConfigNamespace).Get(c.opts.ConfigName)
	if err != nil {
		cm = nil
	}
	c.lb.Start(ctx, client, svcInformer.Lister(), recorder, cm)
	logger.Info("Load balancer ready", "took", time.Since(start))

	apply := func(obj any) {
		if cm, ok := obj.(*v1.ConfigMap); ok && cm.Name == c.opts.ConfigName {
			c.lb.SetConfig(ctx, cm)
		}
	}
	_, err = cmInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(any) { c.lb.SetConfig(ctx, nil) },
	})
	if err != nil {
		logger.Error(err, "Watching the floatlb config")
	}
}

// LoadBalancer returns the allocator-backed load balancer.
func (c *cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c.lb, true }

// InstancesV2 answers the cloud-node controllers from the Node objects.
func (c *cloud) InstancesV2() (cloudprovider.InstancesV2, bool) { return c.instances, true }

// Instances is the legacy interface; InstancesV2 replaces it.
func (c *cloud) Instances() (cloudprovider.Instances, bool) { return nil, false }

// Zones is not implemented: InstancesV2 reports zones.
func (c *cloud) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not implemented.
func (c *cloud) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is not implemented: pod networking is the CNI's.
func (c *cloud) Routes() (cloudprovider.Routes, bool) { return nil, false }

// ProviderName returns "floatlb".
func (c *cloud) ProviderName() string { return Name }

// HasClusterID is true: floatlb needs no cluster tag, every address it
// manages is listed in its config.
func (c *cloud) HasClusterID() bool { return true }

// String names the provider in logs.
func (c *cloud) String() string {
	return fmt.Sprintf("floatlb(config %s/%s)", c.opts.ConfigNamespace, c.opts.ConfigName)
}

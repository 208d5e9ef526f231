// Package app builds the floatlb-ccm command on k8s.io/cloud-provider/app.
package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	cloudprovider "k8s.io/cloud-provider"
	ccmapp "k8s.io/cloud-provider/app"
	ccmconfig "k8s.io/cloud-provider/app/config"
	servicecontroller "k8s.io/cloud-provider/controllers/service"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/logs/json/register" // the optional JSON log format
	"k8s.io/component-base/metrics/legacyregistry"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics on /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // build info on /metrics
	controllermanager "k8s.io/controller-manager/app"
	"k8s.io/controller-manager/controller"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/config"
	"github.com/floatlb/floatlb/loadbalancer"
	"github.com/floatlb/floatlb/provider"
)

// Defaults that differ from upstream's. Upstream's suit a cloud API that
// rate-limits and takes seconds per load balancer; floatlb's allocator
// answers from memory, so the API server is the only limit.
const (
	defaultQPS                    = 500
	defaultBurst                  = 1000
	defaultConcurrentServiceSyncs = 10
)

// controllers are the upstream controllers floatlb-ccm runs. The route
// controller is left out: pod routes are the CNI's business.
var controllers = []string{names.ServiceLBController, names.CloudNodeController, names.CloudNodeLifecycleController}

// NewCommand returns the floatlb-ccm command. stop, when not nil, ends it.
func NewCommand(stop <-chan struct{}) *cobra.Command {
	if stop == nil {
		stop = wait.NeverStop
	}
	opts, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		klog.Fatalf("Unable to initialize command options: %v", err)
	}
	opts.KubeCloudShared.CloudProvider.Name = provider.Name
	opts.KubeCloudShared.ConfigureCloudRoutes = false
	opts.Generic.ClientConnection.QPS = defaultQPS
	opts.Generic.ClientConnection.Burst = defaultBurst
	opts.ServiceController.ConcurrentServiceSyncs = defaultConcurrentServiceSyncs

	popts := provider.Options{Metrics: loadbalancer.NewMetrics()}
	fss := cliflag.NamedFlagSets{}
	fs := fss.FlagSet("floatlb")
	fs.StringVar(&popts.ConfigNamespace, "config-namespace", config.DefaultConfigNamespace, "Namespace of the floatlb ConfigMap.")
	fs.StringVar(&popts.ConfigName, "config-name", config.DefaultConfigName, "Name of the floatlb ConfigMap (key config.yaml).")

	initializer := func(c *ccmconfig.CompletedConfig) cloudprovider.Interface {
		return initCloud(c, popts)
	}
	cmd := ccmapp.NewCloudControllerManagerCommand(opts, initializer, controllerInitializers(), names.CCMControllerAliases(), fss, stop)
	cmd.Use = "floatlb-ccm"
	cmd.Short = "floatlb's external cloud controller manager"
	cmd.Long = `floatlb-ccm gives Services of type LoadBalancer addresses from the pools of
the floatlb ConfigMap and initializes nodes of a cluster run with
--cloud-provider=external. The floatlb-announcer DaemonSet makes the addresses
reachable by BGP, Layer 2 or VRRP.`
	return cmd
}

// controllerInitializers copies the upstream constructors floatlb runs into
// a map of its own, leaving the upstream default map untouched; the service
// controller's is floatlb's own.
func controllerInitializers() map[string]ccmapp.ControllerInitFuncConstructor {
	out := make(map[string]ccmapp.ControllerInitFuncConstructor, len(controllers))
	for _, name := range controllers {
		if c, ok := ccmapp.DefaultInitFuncConstructors[name]; ok {
			out[name] = c
		}
	}
	out[names.ServiceLBController] = ccmapp.ControllerInitFuncConstructor{
		InitContext: out[names.ServiceLBController].InitContext,
		Constructor: startServiceController,
	}
	return out
}

// serviceControllerAdapter is what the floatlb LoadBalancer offers the
// service controller (loadbalancer.LoadBalancer.ForServiceController).
type serviceControllerAdapter interface {
	ForServiceController(kubernetes.Interface, cache.SharedIndexInformer) (kubernetes.Interface, error)
}

// startServiceController starts the upstream service controller as
// k8s.io/cloud-provider/app does, with the client and the Service informer
// adapted by the LoadBalancer so that recording the pool costs no write and
// no sync of its own (see loadbalancer.ForServiceController).
func startServiceController(initContext ccmapp.ControllerInitContext, c *ccmconfig.CompletedConfig, cloud cloudprovider.Interface) ccmapp.InitFunc {
	return func(ctx context.Context, cc controllermanager.ControllerContext) (controller.Interface, bool, error) {
		client := c.ClientBuilder.ClientOrDie(initContext.ClientName)
		services := c.SharedInformers.Core().V1().Services()
		if lb, ok := cloud.LoadBalancer(); ok {
			if a, ok := lb.(serviceControllerAdapter); ok {
				adapted, err := a.ForServiceController(client, services.Informer())
				if err != nil {
					return nil, false, fmt.Errorf("adapting the service controller: %w", err)
				}
				client = adapted
			}
		}
		sc, err := servicecontroller.New(cloud, client, services, c.SharedInformers.Core().V1().Nodes(),
			c.ComponentConfig.KubeCloudShared.ClusterName, utilfeature.DefaultFeatureGate)
		if err != nil {
			return nil, false, fmt.Errorf("creating the service controller: %w", err)
		}
		go sc.Run(ctx, int(c.ComponentConfig.ServiceController.ConcurrentServiceSyncs), cc.ControllerManagerMetrics)
		return nil, true, nil
	}
}

// initCloud registers and initializes the floatlb provider.
func initCloud(c *ccmconfig.CompletedConfig, popts provider.Options) cloudprovider.Interface {
	cp := c.ComponentConfig.KubeCloudShared.CloudProvider
	if cp.Name != provider.Name {
		klog.Fatalf("floatlb-ccm runs only the %q cloud provider, not %q: drop --cloud-provider or set it to %s", provider.Name, cp.Name, provider.Name)
	}
	legacyregistry.MustRegister(popts.Metrics.Collectors()...)
	cloudprovider.RegisterCloudProvider(provider.Name, provider.Factory(popts))
	cloud, err := cloudprovider.InitCloudProvider(cp.Name, cp.CloudConfigFile)
	if err != nil {
		klog.Fatalf("Cloud provider could not be initialized: %v", err)
	}
	if cloud == nil {
		klog.Fatalf("Cloud provider %q is nil", cp.Name)
	}
	return cloud
}

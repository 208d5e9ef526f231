// Package app builds the floatlb-ccm command on k8s.io/cloud-provider/app.
package app

import (
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/wait"
	cloudprovider "k8s.io/cloud-provider"
	ccmapp "k8s.io/cloud-provider/app"
	ccmconfig "k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/logs/json/register" // the optional JSON log format
	"k8s.io/component-base/metrics/legacyregistry"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics on /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // build info on /metrics
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
// a map of its own, leaving the upstream default map untouched.
func controllerInitializers() map[string]ccmapp.ControllerInitFuncConstructor {
	out := make(map[string]ccmapp.ControllerInitFuncConstructor, len(controllers))
	for _, name := range controllers {
		if c, ok := ccmapp.DefaultInitFuncConstructors[name]; ok {
			out[name] = c
		}
	}
	return out
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

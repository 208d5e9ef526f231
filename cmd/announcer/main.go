// Command floatlb-announcer is floatlb's node agent (a DaemonSet with
// hostNetwork): it makes the addresses of the Services the CCM gave
// addresses reachable by BGP, Layer 2 or VRRP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/floatlb/floatlb/announcer"
	"github.com/floatlb/floatlb/announcer/apiclient"
	"github.com/floatlb/floatlb/announcer/controlplane"
	"github.com/floatlb/floatlb/config"
)

func main() {
	if err := run(); err != nil {
		klog.ErrorS(err, "floatlb-announcer failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

// gcPercent is the announcer's GOGC unless the environment sets one. The
// heap it keeps (informer caches, the RIB; about 15 MiB with 5,000
// Services) is small, but every plan rebuilds its input from the caches,
// and the runtime keeps what the heap may grow to before the next
// collection: at Go's default of 100, twice the live heap. With 5,000
// bgp addresses 50 took the resident anonymous memory from 49 to 37 MiB
// for 2 more points of the announcer's CPU time spent in GC (6.5 % instead
// of 4.5 %, most of it while thousands of Services change at once);
// idle CPU stayed at 0.2 % of a core (docs/benchmarks.md). Unlike a memory
// limit, it scales with the cluster: a large one gets a larger heap, not
// a GC that never stops.
const gcPercent = 50

func run() error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	if len(os.Args) > 1 && os.Args[1] == "manifest" {
		return manifest(os.Args[2:], os.Stdout)
	}
	fs := flag.NewFlagSet("floatlb-announcer", flag.ExitOnError)
	klog.InitFlags(fs)
	kubeconfig := fs.String("kubeconfig", "", "Path of a kubeconfig; empty: in-cluster configuration.")
	nodeName := fs.String("node-name", os.Getenv("NODE_NAME"), "Name of this node (default: env NODE_NAME).")
	configNamespace := fs.String("config-namespace", config.DefaultConfigNamespace, "Namespace of the floatlb ConfigMap (and of BGP password Secrets).")
	configName := fs.String("config-name", config.DefaultConfigName, "Name of the floatlb ConfigMap (key config.yaml).")
	metricsAddr := fs.String("metrics-bind-address", ":7475", "Address of /metrics, /healthz and /readyz; 0 turns the HTTP server off.")
	profiling := fs.Bool("profiling", false, "Serve Go profiles under /debug/pprof/ on the metrics address.")
	qps := fs.Float64("kube-api-qps", 50, "QPS to the API server.")
	burst := fs.Int("kube-api-burst", 100, "Burst to the API server.")
	cp := controlplane.NewOptions()
	controlplane.AddFlags(fs, &cp)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if len(cp.VIPs) > 0 {
		cp.NodeName, cp.Kubeconfig = *nodeName, *kubeconfig
		if !flagSet(fs, "metrics-bind-address") {
			*metricsAddr = controlplane.DefaultMetricsAddress
		}
		return runControlPlane(cp, *metricsAddr, *profiling)
	}
	if *nodeName == "" {
		return errors.New("no node name: set --node-name or the environment variable NODE_NAME (the DaemonSet sets it from spec.nodeName)")
	}

	var cfg *rest.Config
	var err error
	if *kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", *kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return fmt.Errorf("reading the API server configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	cfg.UserAgent = "floatlb-announcer/" + *nodeName
	client, err := apiclient.New(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithName("announcer"))

	registry := newRegistry()
	a := announcer.New(announcer.Options{
		Client: client, NodeName: *nodeName,
		ConfigNamespace: *configNamespace, ConfigName: *configName,
		Registerer: registry,
	})
	serveMetrics(ctx, *metricsAddr, registry, a.Ready, *profiling)
	return a.Run(ctx)
}

// newRegistry returns a registry with the Go runtime and process
// collectors.
func newRegistry() *prometheus.Registry {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return registry
}

// serveMetrics serves /metrics, /healthz and /readyz on addr in the
// background until ctx ends; addr "0" serves nothing.
func serveMetrics(ctx context.Context, addr string, registry *prometheus.Registry, ready func() bool, profiling bool) {
	if addr == "0" {
		return
	}
	go func() {
		if err := announcer.Serve(ctx, addr, registry, ready, profiling); err != nil {
			klog.FromContext(ctx).Error(err, "Serving metrics and health", "address", addr)
		}
	}()
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runControlPlane keeps the control-plane VIP (see announcer/controlplane)
// until SIGTERM: no ConfigMap, no Services, and no API server needed in
// vrrp and bgp modes.
func runControlPlane(opts controlplane.Options, metricsAddr string, profiling bool) error {
	opts.Complete()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithName("control-plane"))
	registry := newRegistry()
	serveMetrics(ctx, metricsAddr, registry, func() bool { return true }, profiling)
	return controlplane.Run(ctx, opts, registry)
}

// manifest prints a manifest: `manifest control-plane [flags]` prints the
// static Pod of control-plane mode.
func manifest(args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "control-plane" {
		return errors.New("usage: floatlb-announcer manifest control-plane --control-plane-vip=ADDRESS[,ADDRESS] [--control-plane-mode=vrrp|l2|bgp] [flags]")
	}
	fs := flag.NewFlagSet("floatlb-announcer manifest control-plane", flag.ExitOnError)
	opts := controlplane.NewOptions()
	controlplane.AddFlags(fs, &opts)
	image := fs.String("image", controlplane.DefaultImage, "Image of floatlb-announcer.")
	kubeconfig := fs.String("kubeconfig", "/etc/kubernetes/admin.conf", "l2 mode: the kubeconfig on the node, mounted read-only (kubeadm: admin.conf; super-admin.conf on the first node while kubeadm init runs).")
	metricsAddr := fs.String("metrics-bind-address", controlplane.DefaultMetricsAddress, "Address of /metrics and /healthz; 0 turns the HTTP server off.")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts.Kubeconfig = *kubeconfig
	opts.Complete()
	y, err := controlplane.ManifestYAML(opts, *image, *metricsAddr)
	if err != nil {
		return err
	}
	_, err = out.Write(y)
	return err
}

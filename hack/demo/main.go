// Command demo runs floatlb locally: a real etcd and kube-apiserver, the
// floatlb config, floatlb-ccm, and a Service that gets its address. It is
// what `make demo` runs. With FLOATLB_DEMO_KEEP=1 it keeps everything running
// until Ctrl-C and prints commands to explore with.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/kubeenv"
)

const demoConfig = `apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: demo
  addresses: [192.0.2.0/28, 2001:db8:1::/120]
`

func main() {
	ccmBin := flag.String("ccm", "bin/floatlb-ccm", "floatlb-ccm binary")
	keep := flag.Bool("keep", os.Getenv("FLOATLB_DEMO_KEEP") == "1", "keep running until Ctrl-C (also FLOATLB_DEMO_KEEP=1)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *ccmBin, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(ctx context.Context, ccmBin string, keep bool) error {
	step("Starting etcd and kube-apiserver %s (built from source)", kubeenv.KubernetesVersion)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	env, err := kubeenv.Start(startCtx, kubeenv.Options{
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	cancel()
	if err != nil {
		return err
	}
	defer env.Stop()
	fmt.Printf("    API server at %s\n", env.URL)
	client := env.Client

	step("Writing the floatlb config (ConfigMap floatlb-system/floatlb-config)")
	fmt.Print(indent(demoConfig))
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "floatlb-system"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := client.CoreV1().ConfigMaps("floatlb-system").Create(ctx, &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "floatlb-config"},
		Data:       map[string]string{"config.yaml": demoConfig},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}

	step("Starting floatlb-ccm")
	logPath := filepath.Join(env.Dir, "floatlb-ccm.log")
	ccm, err := startCCM(ccmBin, env.Kubeconfig, logPath)
	if err != nil {
		return err
	}
	defer func() { _ = ccm.Process.Signal(syscall.SIGTERM); _ = ccm.Wait() }()
	fmt.Printf("    pid %d, log %s\n", ccm.Process.Pid, logPath)

	step("Creating the dual-stack Service default/web of type LoadBalancer")
	created := time.Now()
	if _, err := client.CoreV1().Services("default").Create(ctx, webService(), metav1.CreateOptions{}); err != nil {
		return err
	}
	svc, err := waitForAddress(ctx, client, "default", "web", 60*time.Second)
	if err != nil {
		return err
	}
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	fmt.Printf("    default/web got %s after %s (pool %q)\n", strings.Join(ips, " and "), time.Since(created).Round(time.Millisecond), svc.Annotations["floatlb.io/allocated-pool"])

	kubectl := filepath.Join(env.BinDir, "kubectl")
	step("kubectl get service web")
	show(kubectl, env.Kubeconfig, "get", "service", "web", "-o", "wide")
	step("kubectl get events (default)")
	show(kubectl, env.Kubeconfig, "get", "events", "-n", "default", "--sort-by=.lastTimestamp")

	if keep {
		step("Running until Ctrl-C. Try:")
		fmt.Printf("    export KUBECONFIG=%s\n    alias kubectl=%s\n", env.Kubeconfig, kubectl)
		fmt.Println("    kubectl get svc -A")
		fmt.Println("    kubectl create service loadbalancer other --tcp=80:8080")
		fmt.Println("    kubectl annotate svc other floatlb.io/load-balancer-ips=192.0.2.9")
		fmt.Println("    kubectl -n floatlb-system edit configmap floatlb-config")
		fmt.Printf("    tail -f %s\n", logPath)
		<-ctx.Done()
	}
	step("Tearing down")
	return nil
}

func webService() *v1.Service {
	policy := v1.IPFamilyPolicyPreferDualStack
	no := false
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			IPFamilyPolicy:                &policy,
			IPFamilies:                    []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol},
			AllocateLoadBalancerNodePorts: &no,
			Selector:                      map[string]string{"app": "web"},
			Ports:                         []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func startCCM(bin, kubeconfig, logPath string) (*exec.Cmd, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--kubeconfig="+kubeconfig, "--authentication-skip-lookup",
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (run `make build` first): %w", bin, err)
	}
	return cmd, nil
}

func waitForAddress(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration) (*v1.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		svc, err := client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil && len(svc.Status.LoadBalancer.Ingress) > 0 {
			return svc, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s/%s got no address within %s", namespace, name, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func show(kubectl, kubeconfig string, args ...string) {
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	fmt.Print(indent(string(out)))
	if err != nil {
		fmt.Printf("    (kubectl: %v)\n", err)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "    " + strings.Join(lines, "\n    ") + "\n"
}

// Command demo runs floatlb locally: network namespaces as three nodes, a
// router running BIRD 2, a client and a LAN host; a real etcd and
// kube-apiserver; the floatlb config, floatlb-ccm and a floatlb-announcer
// per node; and a Service per mode: bgp answers curl through the router by
// ECMP, l2 and vrrp answer curl from the LAN host through one node. It is what `make demo` runs (as root). With FLOATLB_DEMO_KEEP=1 it keeps everything running
// until Ctrl-C and prints commands to explore with.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
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

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/kubeenv"
)

const demoConfig = `apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: demo
  mode: bgp
  addresses: [198.19.10.0/24, 2001:db8:100::/120]
- name: lan
  mode: l2
  autoAssign: false
  addresses: [198.19.20.0/24, 2001:db8:200::/120]
- name: vip
  mode: vrrp
  autoAssign: false
  addresses: [198.19.30.0/24, 2001:db8:300::/120]
l2:
  leaseDuration: 2s
vrrp:
  advertInterval: 100ms
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
    holdTime: 9s
`

type binaries struct{ ccm, announcer string }

func main() {
	var bins binaries
	flag.StringVar(&bins.ccm, "ccm", "bin/floatlb-ccm", "floatlb-ccm binary")
	flag.StringVar(&bins.announcer, "announcer", "bin/floatlb-announcer", "floatlb-announcer binary")
	keep := flag.Bool("keep", os.Getenv("FLOATLB_DEMO_KEEP") == "1", "keep running until Ctrl-C (also FLOATLB_DEMO_KEEP=1)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, bins, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func run(ctx context.Context, bins binaries, keep bool) error {
	step("Building the network: three nodes, a router and a client in network namespaces")
	if _, err := lab.CleanupStale(ctx); err != nil {
		return err
	}
	l, err := lab.Start(ctx, lab.Options{LANHost: true})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, h := range append(l.Nodes(), l.Router(), l.Client(), l.LANHost()) {
		fmt.Printf("    %-8s %-15s %s\n", h.Name, h.IPv4, h.IPv6)
	}

	step("Starting etcd and kube-apiserver %s (built from source) on the management bridge", kubeenv.KubernetesVersion)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	env, err := kubeenv.Start(startCtx, kubeenv.Options{
		BindAddress:    l.MgmtAddr(),
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	cancel()
	if err != nil {
		return err
	}
	defer env.Stop()
	fmt.Printf("    API server at %s\n", env.URL)
	client := env.Client

	step("Registering the nodes as a kubelet with --node-ip would")
	for _, h := range l.Nodes() {
		if err := fixture.RegisterNode(ctx, client, h.Name, h.IPv4, h.IPv6); err != nil {
			return err
		}
	}

	step("Writing the floatlb config (ConfigMap floatlb-system/floatlb-config)")
	fmt.Print(indent(demoConfig))
	if _, err := fixture.SetConfig(ctx, client, demoConfig); err != nil {
		return err
	}

	step("Starting BIRD 2 on the router (AS 64500, ECMP into its kernel table)")
	bird, err := l.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: l.NodePeers(64512, lab.IPv4)})
	if err != nil {
		return err
	}

	step("Starting floatlb-ccm, and floatlb-announcer on each node")
	logPath := filepath.Join(env.Dir, "floatlb-ccm.log")
	ccm, err := startCCM(bins.ccm, env.Kubeconfig, logPath)
	if err != nil {
		return err
	}
	defer func() { _ = ccm.Process.Signal(syscall.SIGTERM); _ = ccm.Wait() }()
	fmt.Printf("    floatlb-ccm: pid %d, log %s\n", ccm.Process.Pid, logPath)
	for _, h := range l.Nodes() {
		p, err := l.StartProcess(h, bins.announcer, "--kubeconfig="+env.Kubeconfig, "--node-name="+h.Name, "--metrics-bind-address="+h.Mgmt4.String()+":7475")
		if err != nil {
			return err
		}
		fmt.Printf("    floatlb-announcer on %s: pid %d, log %s, metrics http://%s:7475/metrics\n", h.Name, p.PID(), p.LogPath, h.Mgmt4)
	}
	for _, h := range l.Nodes() {
		if err := bird.WaitEstablished(ctx, h.Name); err != nil {
			return err
		}
	}
	fmt.Println("    BGP sessions of node1, node2 and node3 are established")
	if err := l.StartHTTPServers(); err != nil {
		return err
	}

	step("Creating the dual-stack Service default/web of type LoadBalancer")
	created := time.Now()
	if _, err := client.CoreV1().Services("default").Create(ctx, webService("web", ""), metav1.CreateOptions{}); err != nil {
		return err
	}
	svc, err := waitForAddress(ctx, client, "default", "web", 60*time.Second)
	if err != nil {
		return err
	}
	var ips []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, netip.MustParseAddr(in.IP))
	}
	fmt.Printf("    default/web got %v after %s\n", ips, time.Since(created).Round(time.Millisecond))

	for _, ip := range ips {
		for _, h := range l.Nodes() { // what kube-proxy would do: the nodes accept the VIP
			if err := l.AcceptVIP(ctx, h, ip); err != nil {
				return err
			}
		}
		route, err := waitForECMP(ctx, l, ip, len(l.Nodes()))
		if err != nil {
			return err
		}
		step("The router's route to %s (ip -n %s route show %s)", ip, l.Router().NS, ip)
		out, _ := l.Exec(ctx, l.Router(), "ip", "route", "show", netip.PrefixFrom(ip, ip.BitLen()).String())
		if ip.Is6() {
			out, _ = l.Exec(ctx, l.Router(), "ip", "-6", "route", "show", netip.PrefixFrom(ip, ip.BitLen()).String())
		}
		fmt.Print(indent(string(out)))
		fmt.Printf("    next hops: %v\n", route.Gateways())
		step("curl %s from the client, behind the router", lab.URL(ip, 80))
		for i := 0; i < 3; i++ {
			body, err := l.Curl(ctx, l.Client(), lab.URL(ip, 80))
			if err != nil {
				return err
			}
			fmt.Printf("    answered by %s\n", strings.TrimSpace(body))
		}
	}

	if err := lanModes(ctx, l, client); err != nil {
		return err
	}

	kubectl := filepath.Join(env.BinDir, "kubectl")
	step("kubectl get services")
	show(kubectl, env.Kubeconfig, "get", "services", "-o", "wide")
	step("kubectl get events (default)")
	show(kubectl, env.Kubeconfig, "get", "events", "-n", "default", "--sort-by=.lastTimestamp")

	if keep {
		step("Running until Ctrl-C. Try:")
		fmt.Printf("    export KUBECONFIG=%s\n    alias kubectl=%s\n", env.Kubeconfig, kubectl)
		fmt.Println("    kubectl get svc -A")
		fmt.Println("    kubectl create service loadbalancer other --tcp=80:80")
		fmt.Printf("    ip -n %s route          # the router's ECMP routes\n", l.Router().NS)
		fmt.Printf("    ip netns exec %s curl -s http://%s/\n", l.Client().NS, ips[0])
		fmt.Printf("    birdc -s %s show protocols\n", bird.Socket)
		fmt.Printf("    ip netns exec %s arping -c 2 -I eth0 198.19.20.0   # one node answers (l2)\n", l.LANHost().NS)
		fmt.Println("    for n in 1 2 3; do ip -n " + l.Nodes()[0].NS[:len(l.Nodes()[0].NS)-1] + "$n addr show eth0 | grep 198.19.30; done   # the vrrp master")
		fmt.Println("    kubectl label node node2 node.kubernetes.io/exclude-from-external-load-balancers=")
		<-ctx.Done()
	}
	step("Tearing down")
	return nil
}

// waitForECMP waits for the router's route to ip with n next hops.
func waitForECMP(ctx context.Context, l *lab.Lab, ip netip.Addr, n int) (lab.Route, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, ok, err := l.Route(ctx, l.Router(), netip.PrefixFrom(ip, ip.BitLen()))
		if err == nil && ok && len(r.Gateways()) == n {
			return r, nil
		}
		if time.Now().After(deadline) {
			return lab.Route{}, fmt.Errorf("the router has no route to %s with %d next hops after 30s (err %v)", ip, n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lanModes shows a Layer 2 and a VRRP Service answering the LAN host.
func lanModes(ctx context.Context, l *lab.Lab, client kubernetes.Interface) error {
	lan := l.LANHost()
	for _, p := range []string{"198.19.20.0/24", "2001:db8:200::/120", "198.19.30.0/24", "2001:db8:300::/120"} {
		// The l2 and vrrp pools are part of the LAN's subnet.
		if err := l.OnLink(ctx, lan, netip.MustParsePrefix(p)); err != nil {
			return err
		}
	}
	for _, m := range []struct{ name, pool, how string }{
		{"web-l2", "lan", "Layer 2: one node answers ARP/NDP"},
		{"web-vrrp", "vip", "VRRP: the master holds the address"},
	} {
		step("Creating the dual-stack Service default/%s from pool %s (%s)", m.name, m.pool, m.how)
		created := time.Now()
		if _, err := client.CoreV1().Services("default").Create(ctx, webService(m.name, m.pool), metav1.CreateOptions{}); err != nil {
			return err
		}
		svc, err := waitForAddress(ctx, client, "default", m.name, 60*time.Second)
		if err != nil {
			return err
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ip := netip.MustParseAddr(in.IP)
			if m.pool == "lan" {
				for _, h := range l.Nodes() { // kube-proxy makes every node accept it
					if err := l.AcceptVIP(ctx, h, ip); err != nil {
						return err
					}
				}
			}
			body, err := curlUntil(ctx, l, lan, ip, 30*time.Second)
			if err != nil {
				return err
			}
			fmt.Printf("    %s: curl from the LAN host answered by %s, %s after the Service was created\n", ip, body, time.Since(created).Round(time.Millisecond))
			if ip.Is4() {
				macs, err := l.ARPing(ctx, lan, ip, 2, 2*time.Second)
				if err == nil {
					fmt.Printf("    arping %s from the LAN host: replies from %v (%s)\n", ip, macs, nodesOf(l, macs))
				}
			}
		}
	}
	return nil
}

// curlUntil curls ip from host until it answers.
func curlUntil(ctx context.Context, l *lab.Lab, host *lab.Host, ip netip.Addr, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		body, err := l.Curl(ctx, host, lab.URL(ip, 80))
		if err == nil {
			return strings.TrimSpace(body), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("curl %s from %s: %w", ip, host, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodesOf names the nodes whose MACs are macs.
func nodesOf(l *lab.Lab, macs []net.HardwareAddr) string {
	var names []string
	for _, m := range macs {
		for _, h := range l.Nodes() {
			if h.MAC.String() == m.String() {
				names = append(names, h.Name)
			}
		}
	}
	return strings.Join(names, ", ")
}

func webService(name, pool string) *v1.Service {
	policy := v1.IPFamilyPolicyRequireDualStack
	no := false
	meta := metav1.ObjectMeta{Name: name}
	if pool != "" {
		meta.Annotations = map[string]string{"floatlb.io/pool": pool}
	}
	return &v1.Service{
		ObjectMeta: meta,
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			IPFamilyPolicy:                &policy,
			IPFamilies:                    []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol},
			AllocateLoadBalancerNodePorts: &no,
			Selector:                      map[string]string{"app": "web"},
			Ports:                         []v1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(80)}},
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

package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/kubeenv"
)

const configNamespace = fixture.ConfigNamespace

// cluster is a lab with a real API server, Node objects for the lab's
// nodes, floatlb-ccm and an announcer per node.
type cluster struct {
	t          *testing.T
	lab        *lab.Lab
	env        *kubeenv.Env
	client     kubernetes.Interface
	ccm        *rootProcess
	announcers map[string]*lab.Process // by node name
	// ccmKubeconfig and announcerKubeconfig hold the tokens of the
	// ServiceAccounts that manifests/ creates: the binaries run with the
	// permissions an installation gives them, not as admin.
	ccmKubeconfig, announcerKubeconfig string
	// apiserverStarts are the times from each restart of the API server
	// until a little after it was ready: refusals logged then are its RBAC
	// authorizer catching up, not missing rules.
	apiserverStarts [][2]time.Time
	apiserverDown   bool // stopped by stopAPIServer, not started again
}

// newCluster builds the lab and the API server, registers the nodes and
// writes config. The CCM and announcers start with startFloatlb.
func newCluster(t *testing.T, config string, opts ...lab.Options) *cluster {
	t.Helper()
	var o lab.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	l := lab.New(t, o)
	env := kubeenv.StartT(t, kubeenv.Options{
		BindAddress:    l.MgmtAddr(),
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	client, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, lab: l, env: env, client: client, announcers: map[string]*lab.Process{}}
	c.applyManifests()
	t.Cleanup(c.checkRefusals)
	for _, n := range l.Nodes() {
		if err := fixture.RegisterNode(context.Background(), client, n.Name, n.IPv4, n.IPv6); err != nil {
			t.Fatal(err)
		}
	}
	c.setConfig(config)
	return c
}

// applyManifests applies manifests/ (RBAC, ServiceAccounts, the
// Deployment and DaemonSet, which nothing runs here) and writes kubeconfigs
// with the ServiceAccounts' tokens.
func (c *cluster) applyManifests() {
	c.t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "manifests")
	kubectl := filepath.Join(kubeenv.DefaultBinDir(), "kubectl")
	if out, err := exec.Command(kubectl, "--kubeconfig="+c.env.Kubeconfig, "apply", "-k", dir).CombinedOutput(); err != nil {
		c.t.Fatalf("kubectl apply -k manifests: %v\n%s", err, out)
	}
	for sa, dst := range map[string]*string{"floatlb-ccm": &c.ccmKubeconfig, "floatlb-announcer": &c.announcerKubeconfig} {
		token, err := c.env.CreateToken(context.Background(), configNamespace, sa)
		if err != nil {
			c.t.Fatal(err)
		}
		if *dst, err = c.env.KubeconfigFor(token); err != nil {
			c.t.Fatal(err)
		}
	}
}

// checkRefusals fails the test for every request the API server refused
// the binaries: a rule the manifests lack. It runs before the lab stops the
// processes, so it sees what they logged while the test ran.
func (c *cluster) checkRefusals() {
	logs := []string{}
	if c.ccm != nil {
		logs = append(logs, c.ccm.log)
	}
	for _, p := range c.announcers {
		logs = append(logs, p.LogPath)
	}
	for _, path := range logs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "forbidden") && !c.whileAPIServerStarted(line) {
				c.t.Errorf("the manifests' identity was refused (%s): %s", filepath.Base(path), line)
			}
		}
	}
}

// stopAPIServer stops the API server, SIGTERM then SIGKILL a second later
// (gone, not draining requests), and returns when. If the test does not
// start it again, its cleanup does.
func (c *cluster) stopAPIServer(t *testing.T) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.env.StopAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	c.apiserverDown = true
	t.Cleanup(func() {
		if c.apiserverDown {
			_ = c.startAPIServer(context.Background())
		}
	})
	return time.Now()
}

// restartAPIServer starts the API server stopped at stopped again, within
// two minutes, logs the outage and returns when it was back.
func (c *cluster) restartAPIServer(t *testing.T, stopped time.Time) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	starting := time.Now()
	if err := c.startAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("kube-apiserver back after %s without (starting it took %s)",
		back.Sub(stopped).Round(time.Millisecond), back.Sub(starting).Round(time.Millisecond))
	return back
}

// startAPIServer starts the API server again after env.StopAPIServer.
// For a moment after a restart, before its authorizer has read the RBAC
// objects, the API server refuses requests that the rules allow; the
// binaries retry, and checkRefusals ignores what they log then.
func (c *cluster) startAPIServer(ctx context.Context) error {
	began := time.Now()
	err := c.env.StartAPIServer(ctx)
	c.apiserverDown = false
	c.apiserverStarts = append(c.apiserverStarts, [2]time.Time{began, time.Now().Add(5 * time.Second)})
	return err
}

// whileAPIServerStarted reports whether a klog line ("E1202
// 15:04:05.000000 …") was logged during a restart of the API server.
func (c *cluster) whileAPIServerStarted(line string) bool {
	if len(line) < 21 {
		return false
	}
	at, err := time.ParseInLocation("0102 15:04:05.000000", line[1:21], time.Local)
	if err != nil {
		return false
	}
	for _, w := range c.apiserverStarts {
		at := at.AddDate(w[0].Year(), 0, 0)
		if !at.Before(w[0]) && !at.After(w[1]) {
			return true
		}
	}
	return false
}

func (c *cluster) setConfig(yaml string) {
	if _, err := fixture.SetConfig(context.Background(), c.client, yaml); err != nil {
		c.t.Fatal(err)
	}
}

// startCCM runs floatlb-ccm in the root namespace.
func (c *cluster) startCCM() {
	c.t.Helper()
	c.ccm = startRoot(c.t, binaries.ccm,
		"--kubeconfig="+c.ccmKubeconfig, "--authentication-skip-lookup", "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=0", "-v=2")
}

// startAnnouncer runs floatlb-announcer in the node's namespace.
func (c *cluster) startAnnouncer(h *lab.Host) *lab.Process {
	c.t.Helper()
	p, err := c.lab.StartProcess(h, binaries.announcer,
		"--kubeconfig="+c.announcerKubeconfig, "--node-name="+h.Name, "--metrics-bind-address="+h.Mgmt4.String()+":7475", "-v=2")
	if err != nil {
		c.t.Fatal(err)
	}
	c.announcers[h.Name] = p
	return p
}

func (c *cluster) startAnnouncers() {
	for _, n := range c.lab.Nodes() {
		c.startAnnouncer(n)
	}
}

// loadBalancer creates a LoadBalancer Service and waits for its addresses.
func (c *cluster) loadBalancer(name string, opts ...func(*v1.Service)) []netip.Addr {
	c.t.Helper()
	svc := lbService(name, opts...)
	if _, err := c.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	return c.waitAddresses(name, len(svc.Spec.IPFamilies), 60*time.Second)
}

// lbService is a dual-stack LoadBalancer Service default/name on port 80
// without node ports, changed by opts.
func lbService(name string, opts ...func(*v1.Service)) *v1.Service {
	no := false
	require := v1.IPFamilyPolicyRequireDualStack
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: map[string]string{}},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			IPFamilyPolicy:                &require,
			IPFamilies:                    []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol},
			AllocateLoadBalancerNodePorts: &no,
			Selector:                      map[string]string{"app": name},
			Ports:                         []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

// waitAddresses waits until Service default/name holds n addresses and
// returns them.
func (c *cluster) waitAddresses(name string, n int, timeout time.Duration) []netip.Addr {
	c.t.Helper()
	var ips []netip.Addr
	eventually(c.t, timeout, "Service "+name+" gets its addresses", func(ctx context.Context) error {
		got, err := c.client.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ips = ips[:0]
		for _, in := range got.Status.LoadBalancer.Ingress {
			ips = append(ips, netip.MustParseAddr(in.IP))
		}
		if len(ips) != n {
			return fmt.Errorf("status holds %v", ips)
		}
		return nil
	})
	return ips
}

// routeVia waits until the router's kernel route to ip goes via exactly
// the LAN addresses of nodes (none: no route).
func (c *cluster) routeVia(ip netip.Addr, timeout time.Duration, nodes ...string) {
	c.t.Helper()
	c.routeViaOn(c.lab.Router(), ip, timeout, nodes...)
}

// routeViaOn is routeVia on another router of the lab.
func (c *cluster) routeViaOn(router *lab.Host, ip netip.Addr, timeout time.Duration, nodes ...string) {
	c.t.Helper()
	routeViaNodes(c.t, c.lab, router, ip, timeout, nodes...)
}

// routeViaNodes waits until router's route to ip goes via exactly nodes
// (their addresses of ip's family).
func routeViaNodes(t testing.TB, l *lab.Lab, router *lab.Host, ip netip.Addr, timeout time.Duration, nodes ...string) {
	t.Helper()
	var want []netip.Addr
	for _, n := range l.Nodes() {
		for _, name := range nodes {
			if n.Name == name {
				if ip.Is4() {
					want = append(want, n.IPv4)
				} else {
					want = append(want, n.IPv6)
				}
			}
		}
	}
	sortAddrs(want)
	eventually(t, timeout, fmt.Sprintf("%s's route to %s goes via %v", router.Name, ip, nodes), func(ctx context.Context) error {
		r, ok, err := l.Route(ctx, router, netip.PrefixFrom(ip, ip.BitLen()))
		if err != nil {
			return err
		}
		var got []netip.Addr
		if ok {
			got = r.Gateways()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("route via %v", got)
		}
		return nil
	})
}

// acceptVIP makes every node accept ip, as kube-proxy would.
func (c *cluster) acceptVIP(ip netip.Addr) {
	c.t.Helper()
	for _, n := range c.lab.Nodes() {
		if err := c.lab.AcceptVIP(context.Background(), n, ip); err != nil {
			c.t.Fatal(err)
		}
	}
}

func sortAddrs(a []netip.Addr) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Less(a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

var eventually = fixture.Eventually

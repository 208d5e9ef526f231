package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/kubeenv"
)

const configNamespace = "floatlb-system"

// cluster is a lab with a real API server, Node objects for the lab's
// nodes, floatlb-ccm and an announcer per node.
type cluster struct {
	t          *testing.T
	lab        *lab.Lab
	env        *kubeenv.Env
	client     kubernetes.Interface
	ccm        *rootProcess
	announcers map[string]*lab.Process // by node name
}

// newCluster builds the lab and the API server, registers the nodes and
// writes config. The CCM and announcers start with startFloatlb.
func newCluster(t *testing.T, config string) *cluster {
	t.Helper()
	l := lab.New(t, lab.Options{})
	env := kubeenv.StartT(t, kubeenv.Options{
		BindAddress:    l.MgmtAddr(),
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	client, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, lab: l, env: env, client: client, announcers: map[string]*lab.Process{}}
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: configNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes() {
		c.registerNode(n)
	}
	c.setConfig(config)
	return c
}

// registerNode creates the Node object a kubelet with --node-ip and
// --cloud-provider=external would, Ready, with the node's LAN addresses as
// InternalIPs (the CCM keeps them from the provided-node-ip annotation).
func (c *cluster) registerNode(h *lab.Host) {
	ctx := context.Background()
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        h.Name,
		Labels:      map[string]string{"kubernetes.io/hostname": h.Name},
		Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": h.IPv4.String() + "," + h.IPv6.String()},
	}}
	created, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	created.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}}
	created.Status.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: h.IPv4.String()},
		{Type: v1.NodeInternalIP, Address: h.IPv6.String()},
		{Type: v1.NodeHostName, Address: h.Name},
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) setConfig(yaml string) {
	ctx := context.Background()
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: "floatlb-config"},
		Data:       map[string]string{"config.yaml": yaml},
	}
	_, err := c.client.CoreV1().ConfigMaps(configNamespace).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.client.CoreV1().ConfigMaps(configNamespace).Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// startCCM runs floatlb-ccm in the root namespace.
func (c *cluster) startCCM() {
	c.t.Helper()
	c.ccm = startRoot(c.t, binaries.ccm,
		"--kubeconfig="+c.env.Kubeconfig, "--authentication-skip-lookup", "--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port=0", "-v=2")
}

// startAnnouncer runs floatlb-announcer in the node's namespace.
func (c *cluster) startAnnouncer(h *lab.Host) *lab.Process {
	c.t.Helper()
	p, err := c.lab.StartProcess(h, binaries.announcer,
		"--kubeconfig="+c.env.Kubeconfig, "--node-name="+h.Name, "--metrics-bind-address="+h.Mgmt4.String()+":7475", "-v=2")
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
	if _, err := c.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	var ips []netip.Addr
	eventually(c.t, 60*time.Second, "Service "+name+" gets its addresses", func(ctx context.Context) error {
		got, err := c.client.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ips = ips[:0]
		for _, in := range got.Status.LoadBalancer.Ingress {
			ips = append(ips, netip.MustParseAddr(in.IP))
		}
		if len(ips) != len(svc.Spec.IPFamilies) {
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
	var want []netip.Addr
	for _, n := range c.lab.Nodes() {
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
	eventually(c.t, timeout, fmt.Sprintf("the router's route to %s goes via %v", ip, nodes), func(ctx context.Context) error {
		r, ok, err := c.lab.Route(ctx, c.lab.Router(), netip.PrefixFrom(ip, ip.BitLen()))
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

// eventually polls cond until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := cond(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

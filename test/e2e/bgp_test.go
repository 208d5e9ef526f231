package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/floatlb/floatlb/test/e2e/lab"
)

const bgpConfig = `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: public
  mode: bgp
  addresses: [198.19.10.0/24, 2001:db8:100::/120]
bgp:
  asn: 64512
  peers:
  - name: router
    address: 192.0.2.1
    asn: 64500
    holdTime: 9s
`

// TestBGP: a dual-stack bgp Service gets one ECMP route per family at the
// router with the three nodes as next hops, curl through the router reaches
// the nodes, and the route follows SIGTERM of an announcer, the exclude
// label, externalTrafficPolicy Local and deletion of the Service; each node
// tells the Service by an Event that it announces it (and by bgp), and one
// that drops out that it no longer does.
func TestBGP(t *testing.T) {
	lab.Require(t, "bird", "birdc", "curl")
	c := newCluster(t, bgpConfig)
	ctx := context.Background()
	bird, err := c.lab.StartBIRD(ctx, lab.BIRDConfig{ASN: 64500, Peers: c.lab.NodePeers(64512, lab.IPv4)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.lab.StartHTTPServers(); err != nil {
		t.Fatal(err)
	}
	c.startCCM()
	c.startAnnouncers()
	for _, n := range c.lab.Nodes() {
		if err := bird.WaitEstablished(ctx, n.Name); err != nil {
			t.Fatal(err)
		}
	}

	created := time.Now()
	ips := c.loadBalancer("web")
	for _, ip := range ips {
		c.routeVia(ip, 30*time.Second, "node1", "node2", "node3")
	}
	t.Logf("Service created → ECMP routes for %v at the router: %s", ips, time.Since(created).Round(time.Millisecond))
	// Each node tells the Service what it announces, in which mode.
	var announced []string
	for _, ip := range ips {
		announced = append(announced, ip.String())
	}
	slices.Sort(announced)
	for _, n := range c.lab.Nodes() {
		c.waitEvent("web", "floatlb.io/Announced", fmt.Sprintf("%s announces %s by bgp", n.Name, strings.Join(announced, ", ")), 30*time.Second)
	}

	for _, ip := range ips {
		c.acceptVIP(ip)
		seen := map[string]bool{}
		for i := 0; i < 30 && len(seen) < 2; i++ {
			out, err := c.lab.Curl(ctx, c.lab.Client(), lab.URL(ip, 80))
			if err != nil {
				t.Fatalf("curl %s from the client: %v", ip, err)
			}
			seen[strings.TrimSpace(out)] = true
		}
		t.Logf("curl %s from the client reached %v", ip, keys(seen))
	}

	t.Run("SIGTERM to one announcer removes just its next hop", func(t *testing.T) {
		stopped := time.Now()
		if err := c.announcers["node3"].Stop(); err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			c.routeVia(ip, 5*time.Second, "node1", "node2")
		}
		t.Logf("SIGTERM → node3 withdrawn in %s", time.Since(stopped).Round(time.Millisecond))
		c.startAnnouncer(c.lab.Nodes()[2])
		for _, ip := range ips {
			c.routeVia(ip, 30*time.Second, "node1", "node2", "node3")
		}
	})

	t.Run("a node labelled exclude-from-external-load-balancers drops out", func(t *testing.T) {
		patch := []byte(`{"metadata":{"labels":{"node.kubernetes.io/exclude-from-external-load-balancers":""}}}`)
		if _, err := c.client.CoreV1().Nodes().Patch(ctx, "node2", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			c.routeVia(ip, 15*time.Second, "node1", "node3")
		}
		c.waitEvent("web", "floatlb.io/Withdrawn", "node2 no longer announces this Service", 30*time.Second)
		patch = []byte(`{"metadata":{"labels":{"node.kubernetes.io/exclude-from-external-load-balancers":null}}}`)
		if _, err := c.client.CoreV1().Nodes().Patch(ctx, "node2", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			c.routeVia(ip, 15*time.Second, "node1", "node2", "node3")
		}
	})

	t.Run("externalTrafficPolicy Local: only nodes with a ready endpoint", func(t *testing.T) {
		local := c.loadBalancer("local", func(s *v1.Service) {
			s.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
		})
		for _, ip := range local {
			c.routeVia(ip, 15*time.Second) // no endpoint yet: nobody announces
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "local-1", Labels: map[string]string{discoveryv1.LabelServiceName: "local"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"198.18.100.1"}, NodeName: ptr.To("node1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"198.18.100.2"}, NodeName: ptr.To("node2"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			},
		}
		if _, err := c.client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ip := range local {
			c.routeVia(ip, 15*time.Second, "node1")
		}
	})

	t.Run("deleting the Service withdraws its routes", func(t *testing.T) {
		deleted := time.Now()
		if err := c.client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			c.routeVia(ip, 15*time.Second)
		}
		t.Logf("Service deleted → routes withdrawn in %s", time.Since(deleted).Round(time.Millisecond))
	})

	t.Run("an address outside the pools is never announced", func(t *testing.T) {
		c.ccm.stop() // nothing may rewrite the status below
		no := false
		svc := &v1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "forged"},
			Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no,
				Ports: []v1.ServicePort{{Port: 80}}},
		}
		created, err := c.client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.LoadBalancer.Ingress = []v1.LoadBalancerIngress{{IP: "203.0.113.200"}, {IP: "198.19.10.250"}}
		if _, err := c.client.CoreV1().Services("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The in-pool address is announced, so the announcers have seen the status.
		c.routeVia(mustAddr("198.19.10.250"), 15*time.Second, "node1", "node2", "node3")
		c.routeVia(mustAddr("203.0.113.200"), time.Second)
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

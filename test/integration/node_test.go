package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeInitialization: a Node registered by a kubelet with
// --cloud-provider=external carries the uninitialized taint; the CCM gives it
// its providerID and addresses and removes the taint.
func TestNodeInitialization(t *testing.T) {
	env, client := newCluster(t)
	startCCM(t, env, configNamespace)
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "node-a",
			Labels:      map[string]string{"topology.kubernetes.io/zone": "rack-1"},
			Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": "192.0.2.11,2001:db8::11"},
		},
		Spec: v1.NodeSpec{Taints: []v1.Taint{{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: v1.TaintEffectNoSchedule}}},
	}
	if _, err := client.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "node-a is initialized", func(ctx context.Context) error {
		n, err := client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Spec.ProviderID != "floatlb://node-a" {
			return fmt.Errorf("providerID %q", n.Spec.ProviderID)
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == "node.cloudprovider.kubernetes.io/uninitialized" {
				return fmt.Errorf("still tainted")
			}
		}
		want := []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: "192.0.2.11"},
			{Type: v1.NodeInternalIP, Address: "2001:db8::11"},
			{Type: v1.NodeHostName, Address: "node-a"},
		}
		for _, a := range want {
			if !slices.Contains(n.Status.Addresses, a) {
				return fmt.Errorf("addresses %v lack %v", n.Status.Addresses, a)
			}
		}
		if z := n.Labels["topology.kubernetes.io/zone"]; z != "rack-1" {
			return fmt.Errorf("zone label %q", z)
		}
		return nil
	})
}

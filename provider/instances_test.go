package provider

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
)

func TestInstanceMetadata(t *testing.T) {
	tests := []struct {
		name string
		node *v1.Node
		want *cloudprovider.InstanceMetadata
	}{{
		name: "dual-stack node-ip, labels for type and topology",
		node: &v1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        "n1",
			Labels:      map[string]string{"kubernetes.io/hostname": "n1.example", "node.kubernetes.io/instance-type": "r640", "topology.kubernetes.io/zone": "rack-1", "topology.kubernetes.io/region": "dc-1"},
			Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": "192.0.2.11, 2001:db8::11"},
		}},
		want: &cloudprovider.InstanceMetadata{
			ProviderID:   "floatlb://n1",
			InstanceType: "r640",
			Zone:         "rack-1",
			Region:       "dc-1",
			NodeAddresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: "192.0.2.11"},
				{Type: v1.NodeInternalIP, Address: "2001:db8::11"},
				{Type: v1.NodeHostName, Address: "n1.example"},
			},
		},
	}, {
		name: "no node-ip: hostname only",
		node: &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}},
		want: &cloudprovider.InstanceMetadata{
			ProviderID:    "floatlb://n2",
			NodeAddresses: []v1.NodeAddress{{Type: v1.NodeHostName, Address: "n2"}},
		},
	}, {
		name: "garbage and unspecified node-ip are skipped",
		node: &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3", Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": "nonsense,0.0.0.0"}}},
		want: &cloudprovider.InstanceMetadata{
			ProviderID:    "floatlb://n3",
			NodeAddresses: []v1.NodeAddress{{Type: v1.NodeHostName, Address: "n3"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := instances{}.InstanceMetadata(context.Background(), tc.node)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("InstanceMetadata (-want +got):\n%s", diff)
			}
			if ok, _ := (instances{}).InstanceExists(context.Background(), tc.node); !ok {
				t.Error("InstanceExists = false, want true for every Node")
			}
		})
	}
}

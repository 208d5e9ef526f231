package provider

import (
	"context"
	"net/netip"
	"strings"

	v1 "k8s.io/api/core/v1"
	cloudprovider "k8s.io/cloud-provider"
	cloudproviderapi "k8s.io/cloud-provider/api"
)

var _ cloudprovider.InstancesV2 = &instances{}

// instances answers from the Node object: on bare metal the node is the
// instance. Addresses come from kubelet's --node-ip, which kubelet publishes
// in the annotation alpha.kubernetes.io/provided-node-ip when it runs with
// --cloud-provider=external.
type instances struct{}

// InstanceExists is true for every Node object: there is no cloud to ask.
func (instances) InstanceExists(context.Context, *v1.Node) (bool, error) { return true, nil }

// InstanceShutdown is false: a powered-off machine shows as a NotReady node.
func (instances) InstanceShutdown(context.Context, *v1.Node) (bool, error) { return false, nil }

// InstanceMetadata returns the providerID floatlb://<node>, the node's
// addresses, and type and topology from its labels.
func (instances) InstanceMetadata(_ context.Context, node *v1.Node) (*cloudprovider.InstanceMetadata, error) {
	return &cloudprovider.InstanceMetadata{
		ProviderID:    ProviderIDPrefix + node.Name,
		InstanceType:  node.Labels[v1.LabelInstanceTypeStable],
		NodeAddresses: nodeAddresses(node),
		Zone:          node.Labels[v1.LabelTopologyZone],
		Region:        node.Labels[v1.LabelTopologyRegion],
	}, nil
}

// nodeAddresses returns the InternalIPs kubelet was given (a comma list for
// dual-stack) and the hostname.
func nodeAddresses(node *v1.Node) []v1.NodeAddress {
	var out []v1.NodeAddress
	for _, s := range strings.Split(node.Annotations[cloudproviderapi.AnnotationAlphaProvidedIPAddr], ",") {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && !a.IsUnspecified() {
			out = append(out, v1.NodeAddress{Type: v1.NodeInternalIP, Address: a.String()})
		}
	}
	hostname := node.Labels[v1.LabelHostname]
	if hostname == "" {
		hostname = node.Name
	}
	return append(out, v1.NodeAddress{Type: v1.NodeHostName, Address: hostname})
}

package announcer

import (
	"net/netip"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/floatlb/floatlb/announcer/planner"
)

// Labels and annotations the announcer reads.
const (
	labelExcludeFromLB = "node.kubernetes.io/exclude-from-external-load-balancers"
	annotationPool     = "floatlb.io/allocated-pool"
	labelServiceName   = discoveryv1.LabelServiceName
)

// nodeOf turns a Node into the planner's view of it.
func nodeOf(n *v1.Node) planner.Node {
	_, excluded := n.Labels[labelExcludeFromLB]
	out := planner.Node{Name: n.Name, Labels: n.Labels, ExcludedFromLB: excluded}
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			out.Ready = c.Status == v1.ConditionTrue
		}
	}
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			out.Addresses = append(out.Addresses, ip.Unmap())
		}
	}
	return out
}

// wantsAnnouncement reports whether svc is a floatlb Service with addresses.
func wantsAnnouncement(svc *v1.Service) bool {
	return svc.Spec.Type == v1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil &&
		len(svc.Status.LoadBalancer.Ingress) > 0 && svc.DeletionTimestamp == nil
}

// serviceOf turns a Service and its EndpointSlices into the planner's view.
func serviceOf(svc *v1.Service, slices []*discoveryv1.EndpointSlice) planner.Service {
	out := planner.Service{
		Key:   svc.Namespace + "/" + svc.Name,
		Pool:  svc.Annotations[annotationPool],
		Local: svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal,
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(in.IP); err == nil {
			out.IPs = append(out.IPs, ip.Unmap())
		}
	}
	if out.Local {
		seen := map[string]bool{}
		for _, s := range slices {
			for _, ep := range s.Endpoints {
				ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
				if ready && ep.NodeName != nil && !seen[*ep.NodeName] {
					seen[*ep.NodeName] = true
					out.ReadyEndpointNodes = append(out.ReadyEndpointNodes, *ep.NodeName)
				}
			}
		}
	}
	return out
}

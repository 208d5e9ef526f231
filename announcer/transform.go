package announcer

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slimObject is the informers' transform: it keeps of each Service,
// EndpointSlice and Node only what the announcer reads (inputs.go) and
// what an Event needs to name the Service, so that the caches of a large
// cluster stay small. The caches hold every Service and EndpointSlice of
// the cluster, not only floatlb's: a kubectl last-applied-configuration
// annotation, the addresses and target references of every endpoint, and
// the image lists in Node statuses (up to 50 images, several KiB per Node)
// are what would fill them. Other objects only lose their managedFields.
//
// Whoever makes the announcer read another field adds it here; the tests
// check that the planner's view of an object is the same before and after.
func slimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *v1.Service:
		return slimService(o), nil
	case *discoveryv1.EndpointSlice:
		return slimEndpointSlice(o), nil
	case *v1.Node:
		return slimNode(o), nil
	}
	return dropManagedFields(obj)
}

// slimMeta keeps the identity of an object (what an Event's reference
// and the caches' keys need), its deletion, and the labels and annotations
// that keep says to.
func slimMeta(m *metav1.ObjectMeta, keepLabel, keepAnnotation func(string) bool) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
		Labels:            filterMap(m.Labels, keepLabel),
		Annotations:       filterMap(m.Annotations, keepAnnotation),
	}
}

func filterMap(m map[string]string, keep func(string) bool) map[string]string {
	var out map[string]string
	for k, v := range m {
		if keep != nil && keep(k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// ours is true for floatlb's own labels and annotations.
func ours(key string) bool { return strings.HasPrefix(key, "floatlb.io/") }

func all(string) bool { return true }

// slimService keeps a Service's type, class, traffic policy, ingress and
// floatlb.io/ annotations.
func slimService(s *v1.Service) *v1.Service {
	return &v1.Service{
		TypeMeta:   s.TypeMeta,
		ObjectMeta: slimMeta(&s.ObjectMeta, nil, ours),
		Spec: v1.ServiceSpec{
			Type:                  s.Spec.Type,
			LoadBalancerClass:     s.Spec.LoadBalancerClass,
			ExternalTrafficPolicy: s.Spec.ExternalTrafficPolicy,
		},
		Status: v1.ServiceStatus{LoadBalancer: s.Status.LoadBalancer},
	}
}

// slimEndpointSlice keeps the Service the slice belongs to and, of each
// endpoint, its node and conditions; endpoints that agree on both are
// kept once (the planner asks which nodes have a ready endpoint, not how
// many).
func slimEndpointSlice(s *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := &discoveryv1.EndpointSlice{
		TypeMeta:    s.TypeMeta,
		ObjectMeta:  slimMeta(&s.ObjectMeta, func(k string) bool { return k == discoveryv1.LabelServiceName }, ours),
		AddressType: s.AddressType,
	}
	type key struct {
		node                        string
		ready, serving, terminating int8 // 0 unset, 1 false, 2 true
	}
	tri := func(b *bool) int8 {
		switch {
		case b == nil:
			return 0
		case *b:
			return 2
		}
		return 1
	}
	seen := map[key]bool{}
	for _, ep := range s.Endpoints {
		k := key{ready: tri(ep.Conditions.Ready), serving: tri(ep.Conditions.Serving), terminating: tri(ep.Conditions.Terminating)}
		if ep.NodeName != nil {
			k.node = *ep.NodeName
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out.Endpoints = append(out.Endpoints, discoveryv1.Endpoint{NodeName: ep.NodeName, Conditions: ep.Conditions})
	}
	return out
}

// slimNode keeps a Node's labels, floatlb.io/ annotations, spec, Ready
// condition and addresses.
func slimNode(n *v1.Node) *v1.Node {
	out := &v1.Node{
		TypeMeta:   n.TypeMeta,
		ObjectMeta: slimMeta(&n.ObjectMeta, all, ours),
		Spec:       n.Spec,
		Status:     v1.NodeStatus{Addresses: n.Status.Addresses},
	}
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			out.Status.Conditions = []v1.NodeCondition{c}
		}
	}
	return out
}

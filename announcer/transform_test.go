package announcer

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
)

// addrs lets cmp compare netip.Addr values.
var addrs = cmpopts.EquateComparable(netip.Addr{})

func ptr[T any](v T) *T { return &v }

// fullService is a Service with much of what a real one carries.
func fullService(name string, policy v1.ServiceExternalTrafficPolicy) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: name, UID: "5b1e", ResourceVersion: "42",
			Labels:        map[string]string{"app.kubernetes.io/name": name},
			Annotations:   map[string]string{annotationPool: "public", "kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"Service"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			Finalizers:    []string{"service.kubernetes.io/load-balancer-cleanup"},
		},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			ExternalTrafficPolicy:         policy,
			Selector:                      map[string]string{"app": name},
			Ports:                         []v1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}},
			ClusterIP:                     "10.96.0.10",
			ClusterIPs:                    []string{"10.96.0.10", "fd00::10"},
			IPFamilies:                    []v1.IPFamily{v1.IPv4Protocol, v1.IPv6Protocol},
			AllocateLoadBalancerNodePorts: ptr(false),
		},
		Status: v1.ServiceStatus{LoadBalancer: v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{
			{IP: "198.51.100.7", IPMode: ptr(v1.LoadBalancerIPModeVIP)}, {IP: "2001:db8:1::7"},
		}}},
	}
}

func TestSlimService(t *testing.T) {
	deleting := fullService("deleting", v1.ServiceExternalTrafficPolicyCluster)
	deleting.DeletionTimestamp = &metav1.Time{}
	classed := fullService("classed", v1.ServiceExternalTrafficPolicyCluster)
	classed.Spec.LoadBalancerClass = ptr("other.example/lb")
	clusterIP := fullService("cluster-ip", v1.ServiceExternalTrafficPolicyCluster)
	clusterIP.Spec.Type = v1.ServiceTypeClusterIP
	for _, svc := range []*v1.Service{
		fullService("web", v1.ServiceExternalTrafficPolicyCluster),
		fullService("local", v1.ServiceExternalTrafficPolicyLocal),
		deleting, classed, clusterIP,
	} {
		t.Run(svc.Name, func(t *testing.T) {
			slim, err := slimObject(svc.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			got := slim.(*v1.Service)
			if w, g := wantsAnnouncement(svc), wantsAnnouncement(got); w != g {
				t.Errorf("wantsAnnouncement: %v before, %v after", w, g)
			}
			if diff := cmp.Diff(serviceOf(svc, nil), serviceOf(got, nil), addrs); diff != "" {
				t.Errorf("serviceOf (-before +after):\n%s", diff)
			}
			// An Event names the Service as it did.
			want, err := reference.GetReference(scheme.Scheme, svc)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := reference.GetReference(scheme.Scheme, got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ref); diff != "" {
				t.Errorf("Event reference (-before +after):\n%s", diff)
			}
			if got.Spec.Ports != nil || got.Spec.Selector != nil || got.Labels != nil || got.ManagedFields != nil || len(got.Annotations) != 1 {
				t.Errorf("kept more than needed: %+v", got)
			}
		})
	}
}

func TestSlimEndpointSlice(t *testing.T) {
	ep := func(node string, ready *bool, addr string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{
			Addresses: []string{addr}, NodeName: ptr(node), Zone: ptr("a"),
			Conditions: discoveryv1.EndpointConditions{Ready: ready, Serving: ready},
			TargetRef:  &v1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-" + addr},
		}
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "local-x7", Labels: map[string]string{
			discoveryv1.LabelServiceName: "local", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			ep("node1", ptr(true), "10.0.1.1"), ep("node1", ptr(true), "10.0.1.2"), ep("node1", ptr(false), "10.0.1.3"),
			ep("node2", ptr(false), "10.0.2.1"), ep("node3", nil, "10.0.3.1"), ep("node3", nil, "10.0.3.2"),
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
	}
	slim, err := slimObject(slice.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	got := slim.(*discoveryv1.EndpointSlice)
	svc := fullService("local", v1.ServiceExternalTrafficPolicyLocal)
	if diff := cmp.Diff(serviceOf(svc, []*discoveryv1.EndpointSlice{slice}), serviceOf(svc, []*discoveryv1.EndpointSlice{got}), addrs); diff != "" {
		t.Errorf("serviceOf (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{discoveryv1.LabelServiceName: "local"}, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if len(got.Endpoints) != 4 || got.Ports != nil {
		t.Errorf("want 4 endpoints (one per node and conditions) and no ports, got %+v", got)
	}
	for _, e := range got.Endpoints {
		if e.Addresses != nil || e.TargetRef != nil || e.Zone != nil {
			t.Errorf("endpoint kept more than its node and conditions: %+v", e)
		}
	}
}

func TestSlimNode(t *testing.T) {
	for _, ready := range []v1.ConditionStatus{v1.ConditionTrue, v1.ConditionFalse} {
		node := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: map[string]string{"zone": "a", labelExcludeFromLB: ""},
				Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": "192.0.2.11", "floatlb.io/x": "y"}},
			Spec: v1.NodeSpec{ProviderID: "floatlb://node1", Taints: []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoSchedule}}},
			Status: v1.NodeStatus{
				Conditions: []v1.NodeCondition{{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse}, {Type: v1.NodeReady, Status: ready}},
				Addresses:  []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.0.2.11"}, {Type: v1.NodeInternalIP, Address: "2001:db8::11"}, {Type: v1.NodeHostName, Address: "node1"}},
				Images:     []v1.ContainerImage{{Names: []string{"registry.example/app@sha256:0123", "registry.example/app:v1"}, SizeBytes: 1 << 20}},
				Capacity:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")},
				NodeInfo:   v1.NodeSystemInfo{KubeletVersion: "v1.37.2"},
			},
		}
		slim, err := slimObject(node.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		got := slim.(*v1.Node)
		if diff := cmp.Diff(nodeOf(node), nodeOf(got), addrs); diff != "" {
			t.Errorf("nodeOf (-before +after):\n%s", diff)
		}
		if got.Status.Images != nil || got.Status.Capacity != nil || got.Status.NodeInfo.KubeletVersion != "" || len(got.Status.Conditions) != 1 || len(got.Annotations) != 1 {
			t.Errorf("kept more than needed: %+v", got)
		}
	}
}

func TestSlimOtherObjects(t *testing.T) {
	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}, Data: map[string]string{"k": "v"}}
	got, err := slimObject(cm)
	if err != nil {
		t.Fatal(err)
	}
	if c := got.(*v1.ConfigMap); c.ManagedFields != nil || c.Data["k"] != "v" {
		t.Errorf("want the ConfigMap without managedFields only, got %+v", c)
	}
}

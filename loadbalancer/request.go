package loadbalancer

import (
	"fmt"
	"net/netip"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/floatlb/floatlb/loadbalancer/ipam"
)

// serviceKey is the allocator's name for svc.
func serviceKey(svc *v1.Service) string { return svc.Namespace + "/" + svc.Name }

// requestFor turns what svc asks for into an allocator request.
func requestFor(svc *v1.Service) (ipam.Request, error) {
	req := ipam.Request{
		Service:    serviceKey(svc),
		Namespace:  svc.Namespace,
		Pool:       svc.Annotations[AnnotationPool],
		Sharing:    svc.Annotations[AnnotationAllowSharedIP],
		Local:      svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal,
		RequireAll: svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != v1.IPFamilyPolicyPreferDualStack,
	}
	if req.Local {
		req.Selector = labels.SelectorFromSet(svc.Spec.Selector).String()
	}
	for _, p := range svc.Spec.Ports {
		req.Ports = append(req.Ports, ipam.Port{Protocol: string(p.Protocol), Port: p.Port})
	}
	for _, f := range svc.Spec.IPFamilies {
		if f == v1.IPv6Protocol {
			req.Families = append(req.Families, ipam.IPv6)
		} else {
			req.Families = append(req.Families, ipam.IPv4)
		}
	}
	if len(req.Families) == 0 { // not yet defaulted by the API server
		req.Families = []ipam.Family{ipam.IPv4}
		if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil && a.Is6() {
			req.Families[0] = ipam.IPv6
		}
	}
	wanted, err := wantedIPs(svc)
	if err != nil {
		return req, err
	}
	req.IPs = wanted
	req.Current = statusIPs(svc)
	return req, nil
}

// wantedIPs reads the addresses svc asks for by annotation or by
// spec.loadBalancerIP, at most one per family.
func wantedIPs(svc *v1.Service) ([]netip.Addr, error) {
	source, list := "annotation "+AnnotationLoadBalancerIPs, svc.Annotations[AnnotationLoadBalancerIPs]
	if list == "" {
		source, list = "spec.loadBalancerIP", svc.Spec.LoadBalancerIP
	}
	if list == "" {
		return nil, nil
	}
	var out []netip.Addr
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%s of %s: %q is not an IP address", source, serviceKey(svc), s)
		}
		a = a.Unmap()
		for _, o := range out {
			if o.Is4() == a.Is4() {
				return nil, fmt.Errorf("%s of %s: %q asks for two %s addresses; give at most one per family", source, serviceKey(svc), list, ipam.FamilyOf(a))
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// statusIPs returns the addresses svc's status holds.
func statusIPs(svc *v1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// isOurs reports whether svc is a LoadBalancer Service the upstream service
// controller hands to the cloud provider.
func isOurs(svc *v1.Service) bool {
	return svc.Spec.Type == v1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

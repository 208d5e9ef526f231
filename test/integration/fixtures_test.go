package integration

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/fixture"
	"github.com/floatlb/floatlb/test/kubeenv"
)

const configNamespace = fixture.ConfigNamespace

// newCluster starts a real etcd and kube-apiserver for one test, dual-stack
// so that Services may ask for both families.
func newCluster(t *testing.T) (*kubeenv.Env, kubernetes.Interface) {
	t.Helper()
	env := kubeenv.StartT(t, kubeenv.Options{
		APIServerFlags: []string{"--service-cluster-ip-range=198.18.0.0/16,2001:db8:18::/112"},
	})
	client, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	createNamespace(t, client, configNamespace)
	return env, client
}

func createNamespace(t testing.TB, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(context.Background(), &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// setConfig creates or replaces the floatlb ConfigMap.
func setConfig(t testing.TB, client kubernetes.Interface, yaml string) *v1.ConfigMap {
	t.Helper()
	cm, err := fixture.SetConfig(context.Background(), client, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// service returns a LoadBalancer Service with one TCP port, changed by opts.
func service(namespace, name string, opts ...func(*v1.Service)) *v1.Service {
	no := false
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: map[string]string{}},
		Spec: v1.ServiceSpec{
			Type:                          v1.ServiceTypeLoadBalancer,
			Selector:                      map[string]string{"app": name},
			AllocateLoadBalancerNodePorts: &no,
			Ports:                         []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func annotated(key, value string) func(*v1.Service) {
	return func(s *v1.Service) { s.Annotations[key] = value }
}

func port(p int32) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.Ports[0].Port = p }
}

func dualStack(policy v1.IPFamilyPolicy, families ...v1.IPFamily) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &policy, families }
}

func create(t testing.TB, client kubernetes.Interface, svc *v1.Service) *v1.Service {
	t.Helper()
	got, err := client.CoreV1().Services(svc.Namespace).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Service %s/%s: %v", svc.Namespace, svc.Name, err)
	}
	return got
}

// ingressIPs returns the addresses in svc's status.
func ingressIPs(svc *v1.Service) []string {
	var out []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		out = append(out, in.IP)
	}
	return out
}

// waitForIPs waits until the Service holds n addresses and returns it.
func waitForIPs(t testing.TB, client kubernetes.Interface, namespace, name string, n int, timeout time.Duration) *v1.Service {
	t.Helper()
	var svc *v1.Service
	eventually(t, timeout, fmt.Sprintf("Service %s/%s gets %d address(es)", namespace, name, n), func(ctx context.Context) error {
		var err error
		svc, err = client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := ingressIPs(svc); len(got) != n {
			return fmt.Errorf("status holds %v", got)
		}
		return nil
	})
	return svc
}

// waitForEvent waits for an Event on the object whose reason and message
// contain the given strings, and returns its message.
func waitForEvent(t testing.TB, client kubernetes.Interface, namespace, kind, name, reason, message string, timeout time.Duration) string {
	t.Helper()
	var found string
	eventually(t, timeout, fmt.Sprintf("an Event %q on %s %s/%s saying %q", reason, kind, namespace, name, message), func(ctx context.Context) error {
		list, err := client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=" + kind + ",involvedObject.name=" + name,
		})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			if strings.Contains(e.Reason, reason) && strings.Contains(e.Message, message) {
				found = e.Message
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("events seen: %q", seen)
	})
	return found
}

// eventReasons lists the reasons of the Events on the Service.
func eventReasons(t testing.TB, client kubernetes.Interface, namespace, name string) []string {
	t.Helper()
	list, err := client.CoreV1().Events(namespace).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Service,involvedObject.name=" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, e := range list.Items {
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// inPrefix reports whether the address s lies in the prefix p.
func inPrefix(s, p string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && netip.MustParsePrefix(p).Contains(a)
}

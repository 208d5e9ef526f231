package kubeenv_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/floatlb/floatlb/test/kubeenv"
)

// TestEnv runs one environment through what the other suites rely on; the
// subtests share it and run in order, the restart last.
func TestEnv(t *testing.T) {
	env := kubeenv.StartT(t, kubeenv.Options{})

	const namespace = "kubeenv-test"
	t.Run("kubeconfig", func(t *testing.T) {
		client := clientFromKubeconfig(t, env.Kubeconfig)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		if _, err := client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s through %s: %v", namespace, env.Kubeconfig, err)
		}
	})

	t.Run("load balancer service", func(t *testing.T) {
		ctx := t.Context()
		svc := loadBalancer(namespace, "web")
		if _, err := env.Client.CoreV1().Services(namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating service: %v", err)
		}
		got, err := env.Client.CoreV1().Services(namespace).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading the service back: %v", err)
		}
		if got.Spec.Type != corev1.ServiceTypeLoadBalancer {
			t.Errorf("service type = %s, want %s", got.Spec.Type, corev1.ServiceTypeLoadBalancer)
		}
		clusterIP, err := netip.ParseAddr(got.Spec.ClusterIP)
		if want := netip.MustParsePrefix("198.18.0.0/16"); err != nil || !want.Contains(clusterIP) {
			t.Errorf("cluster IP = %q, want one in %s", got.Spec.ClusterIP, want)
		}
		if got.Spec.Ports[0].NodePort == 0 {
			t.Errorf("no node port allocated: %+v", got.Spec.Ports[0])
		}
		if len(got.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("ingress = %v before any controller ran, want none", got.Status.LoadBalancer.Ingress)
		}
	})

	t.Run("service account token", func(t *testing.T) {
		ctx := t.Context()
		if err := env.EnsureServiceAccount(ctx, namespace, "reader"); err != nil {
			t.Fatal(err)
		}
		if err := env.EnsureServiceAccount(ctx, namespace, "reader"); err != nil {
			t.Fatalf("second EnsureServiceAccount: %v", err)
		}
		token, err := env.CreateToken(ctx, namespace, "reader")
		if err != nil {
			t.Fatal(err)
		}
		path, err := env.KubeconfigFor(token)
		if err != nil {
			t.Fatal(err)
		}
		client := clientFromKubeconfig(t, path)

		review, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("asking who the token is: %v", err)
		}
		if got, want := review.Status.UserInfo.Username, "system:serviceaccount:"+namespace+":reader"; got != want {
			t.Errorf("token authenticates as %q, want %q", got, want)
		}
		_, err = client.CoreV1().Secrets(namespace).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("listing secrets as the service account: err = %v, want forbidden", err)
		}
	})

	t.Run("restart API server", func(t *testing.T) {
		ctx := t.Context()
		began := time.Now()
		if err := env.StopAPIServer(ctx); err != nil {
			t.Fatalf("stopping kube-apiserver: %v", err)
		}
		t.Logf("kube-apiserver stopped after %s", time.Since(began).Round(time.Millisecond))
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := env.Client.CoreV1().Namespaces().Get(short, namespace, metav1.GetOptions{}); err == nil {
			t.Fatal("the API server answers after StopAPIServer")
		}

		began = time.Now()
		if err := env.StartAPIServer(ctx); err != nil {
			t.Fatalf("starting kube-apiserver again: %v", err)
		}
		t.Logf("kube-apiserver ready again after %s", time.Since(began).Round(time.Millisecond))
		// The client made before the restart still works, and etcd kept
		// the data.
		if _, err := env.Client.CoreV1().Services(namespace).Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Fatalf("reading the service after the restart: %v", err)
		}
		if err := env.StartAPIServer(ctx); err == nil {
			t.Error("StartAPIServer on a running API server succeeded, want an error")
		}
	})
}

func clientFromKubeconfig(t *testing.T, path string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client from %s: %v", path, err)
	}
	return client
}

func loadBalancer(namespace, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Protocol:   corev1.ProtocolTCP,
				Port:       80,
				TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
}

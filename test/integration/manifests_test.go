package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/kubeenv"
)

// manifestsDir is manifests/ of the repository.
func manifestsDir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "manifests")
}

// kubectl runs kubectl of the tools directory against env as admin.
func kubectl(t testing.TB, env *kubeenv.Env, args ...string) string {
	t.Helper()
	bin := filepath.Join(kubeenv.DefaultBinDir(), "kubectl")
	out, err := exec.Command(bin, append([]string{"--kubeconfig=" + env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestManifests applies manifests/ to the real API server (server-side dry
// run, then for real), runs floatlb-ccm with the token of the
// ServiceAccount they create, with leader election and node
// initialization, and checks what the announcer's identity may and may
// not do. A missing or excessive RBAC rule fails here.
func TestManifests(t *testing.T) {
	env, client := newCluster(t)
	ctx := context.Background()
	dir := manifestsDir(t)
	kubectl(t, env, "apply", "-k", dir, "--dry-run=server")
	kubectl(t, env, "apply", "-k", dir)
	setConfig(t, client, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: default
  addresses: [198.51.100.0/28]
`)

	t.Run("floatlb-ccm runs under its ServiceAccount", func(t *testing.T) {
		token, err := env.CreateToken(ctx, configNamespace, "floatlb-ccm")
		if err != nil {
			t.Fatal(err)
		}
		kubeconfig, err := env.KubeconfigFor(token)
		if err != nil {
			t.Fatal(err)
		}
		c := startCCM(t, env, configNamespace, "--kubeconfig="+kubeconfig,
			"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
			"--leader-elect=true", "--leader-elect-resource-namespace=floatlb-system", "--leader-elect-resource-name=floatlb-ccm")
		node := &v1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node-a", Annotations: map[string]string{"alpha.kubernetes.io/provided-node-ip": "192.0.2.11"}},
			Spec:       v1.NodeSpec{Taints: []v1.Taint{{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: v1.TaintEffectNoSchedule}}},
		}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		create(t, client, service("default", "web"))
		svc := waitForIPs(t, client, "default", "web", 1, 60*time.Second)
		if ip := ingressIPs(svc)[0]; !inPrefix(ip, "198.51.100.0/28") {
			t.Errorf("web got %s, outside the pool", ip)
		}
		eventually(t, 60*time.Second, "node-a initialized by the CCM's identity", func(ctx context.Context) error {
			n, err := client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, taint := range n.Spec.Taints {
				if taint.Key == "node.cloudprovider.kubernetes.io/uninitialized" {
					return fmt.Errorf("still tainted uninitialized")
				}
			}
			if n.Spec.ProviderID != "floatlb://node-a" {
				return fmt.Errorf("providerID %q", n.Spec.ProviderID)
			}
			return nil
		})
		if _, err := client.CoordinationV1().Leases("floatlb-system").Get(ctx, "floatlb-ccm", metav1.GetOptions{}); err != nil {
			t.Errorf("leader-election Lease: %v", err)
		}
		// Whatever the CCM was refused is a missing rule, even where it
		// retries and the test above passes.
		log, err := os.ReadFile(fmt.Sprintf("%s.%d.log", c.log, c.runs))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, "forbidden") {
				t.Errorf("floatlb-ccm was refused: %s", line)
			}
		}
	})

	t.Run("what each identity may do", func(t *testing.T) {
		const announcer = "system:serviceaccount:floatlb-system:floatlb-announcer"
		const ccm = "system:serviceaccount:floatlb-system:floatlb-ccm"
		tests := []struct {
			user string
			attr authorizationv1.ResourceAttributes
			want bool
		}{
			{announcer, ra("", "services", "", "list", ""), true},
			{announcer, ra("", "services", "", "watch", ""), true},
			{announcer, ra("discovery.k8s.io", "endpointslices", "", "watch", ""), true},
			{announcer, ra("", "nodes", "", "list", ""), true},
			{announcer, ra("", "events", "default", "create", ""), true},
			{announcer, ra("", "configmaps", "floatlb-system", "watch", "floatlb-config"), true},
			{announcer, ra("coordination.k8s.io", "leases", "floatlb-system", "update", "floatlb-announcer-node-a"), true},
			{announcer, ra("", "secrets", "floatlb-system", "get", "floatlb-bgp"), true},
			{announcer, ra("", "services", "default", "update", ""), false},
			{announcer, ra("", "services", "default", "patch", ""), false},
			{announcer, ra("", "nodes", "", "update", ""), false},
			{announcer, ra("", "secrets", "floatlb-system", "get", "other"), false},
			{announcer, ra("", "secrets", "floatlb-system", "list", ""), false},
			{announcer, ra("", "secrets", "kube-system", "get", "floatlb-bgp"), false},
			{announcer, ra("", "configmaps", "floatlb-system", "get", "other"), false},
			{announcer, ra("coordination.k8s.io", "leases", "kube-system", "update", "kube-scheduler"), false},
			{ccm, ra("", "services", "default", "patch", ""), true},
			{ccm, ra("", "services", "default", "update", "status"), true},
			{ccm, ra("", "nodes", "", "patch", ""), true},
			{ccm, ra("", "configmaps", "floatlb-system", "watch", "floatlb-config"), true},
			{ccm, ra("coordination.k8s.io", "leases", "floatlb-system", "update", "floatlb-ccm"), true},
			{ccm, ra("", "secrets", "floatlb-system", "get", "floatlb-bgp"), false},
			{ccm, ra("", "configmaps", "floatlb-system", "update", "floatlb-config"), false},
			{ccm, ra("", "services", "default", "create", ""), false},
			{ccm, ra("coordination.k8s.io", "leases", "kube-system", "update", "kube-controller-manager"), false},
		}
		for _, tc := range tests {
			a := tc.attr
			name := fmt.Sprintf("%s %s %s/%s %s %s", tc.user[strings.LastIndex(tc.user, ":")+1:], a.Verb, a.Group, a.Resource, a.Namespace, a.Name)
			t.Run(name, func(t *testing.T) {
				if got := allowed(t, client, tc.user, a); got != tc.want {
					t.Errorf("allowed = %v, want %v", got, tc.want)
				}
			})
		}
	})
}

// ra builds resource attributes; a name "status" on services means the
// status subresource.
func ra(group, resource, namespace, verb, name string) authorizationv1.ResourceAttributes {
	a := authorizationv1.ResourceAttributes{Group: group, Resource: resource, Namespace: namespace, Verb: verb, Name: name}
	if resource == "services" && name == "status" {
		a.Name, a.Subresource = "", "status"
	}
	return a
}

// allowed asks the API server's authorizer whether a ServiceAccount may.
func allowed(t *testing.T, client kubernetes.Interface, user string, a authorizationv1.ResourceAttributes) bool {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:floatlb-system", "system:authenticated"},
		ResourceAttributes: &a,
	}}
	got, err := client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), review, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got.Status.Allowed
}

package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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

// TestManifests checks where kustomize puts each object of manifests/,
// applies them to the real API server (server-side dry run, then for
// real), runs floatlb-ccm with the Deployment's own arguments (leader
// election, authentication lookup) under the token of the ServiceAccount
// they create, probes its secure port, and checks what each identity may
// and may not do. A missing or excessive RBAC rule fails here.
func TestManifests(t *testing.T) {
	env, client := newCluster(t)
	ctx := context.Background()
	dir := manifestsDir(t)
	t.Run("every namespaced object in its namespace", func(t *testing.T) {
		checkNamespaces(t, client, kubectl(t, env, "kustomize", dir))
	})
	t.Run("the overlay of docs/install.md", func(t *testing.T) {
		out := kubectl(t, env, "kustomize", installOverlay(t, dir))
		checkNamespaces(t, client, out)
		for _, want := range []string{"image: registry.example.com/floatlb:v0.1.0", "pools: []"} {
			if !strings.Contains(out, want) {
				t.Errorf("the rendered overlay lacks %q:\n%s", want, out)
			}
		}
	})
	kubectl(t, env, "apply", "-k", dir, "--dry-run=server")
	kubectl(t, env, "apply", "-k", dir)
	setConfig(t, client, `
apiVersion: floatlb.io/v1alpha1
kind: Config
pools:
- name: default
  addresses: [198.51.100.0/28]
`)

	deploy, err := client.AppsV1().Deployments("floatlb-system").Get(ctx, "floatlb-ccm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	container := deploy.Spec.Template.Spec.Containers[0]
	// The leader-election Lease, where the Deployment's flags put it
	// (cloud-provider's defaults: kube-system, cloud-controller-manager).
	leaseNamespace, leaseName := flagValue(container.Args, "leader-elect-resource-namespace"), flagValue(container.Args, "leader-elect-resource-name")
	if leaseNamespace == "" {
		leaseNamespace = "kube-system"
	}
	if leaseName == "" {
		leaseName = "cloud-controller-manager"
	}

	t.Run("floatlb-ccm runs with the Deployment's arguments under its ServiceAccount", func(t *testing.T) {
		if want := []string{"/floatlb-ccm"}; !slices.Equal(container.Command, want) {
			t.Fatalf("the Deployment runs %q, want %q", container.Command, want)
		}
		token, err := env.CreateToken(ctx, configNamespace, deploy.Spec.Template.Spec.ServiceAccountName)
		if err != nil {
			t.Fatal(err)
		}
		kubeconfig, err := env.KubeconfigFor(token)
		if err != nil {
			t.Fatal(err)
		}
		args, port := podlessCCMArgs(t, container.Args, kubeconfig)
		c := runCCM(t, args)

		// The kubelet's probe: anonymous, self-signed serving certificate.
		probe := container.LivenessProbe.HTTPGet
		eventually(t, 60*time.Second, "floatlb-ccm answers its liveness probe", func(ctx context.Context) error {
			if c.exited() {
				t.Fatal("floatlb-ccm exited at start (a refused authentication lookup, say); its log follows")
			}
			code, body, err := getSecure(ctx, port, probe.Path, "")
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", probe.Path, code, body)
			}
			return nil
		})

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
		if _, err := client.CoordinationV1().Leases(leaseNamespace).Get(ctx, leaseName, metav1.GetOptions{}); err != nil {
			t.Errorf("leader-election Lease: %v", err)
		}

		// /metrics goes through delegated authentication (a TokenReview:
		// the auth-delegator binding) and authorization (a
		// SubjectAccessReview). floatlb-ccm's own identity may not read it
		// (403, naming the user the token was reviewed as; a failed review
		// would be 401); the metrics reader of docs/install.md may.
		code, body, err := getSecure(ctx, port, "/metrics", token)
		if err != nil {
			t.Fatal(err)
		}
		if user := "system:serviceaccount:floatlb-system:floatlb-ccm"; code != http.StatusForbidden || !strings.Contains(body, user) {
			t.Errorf("/metrics with floatlb-ccm's token: %d %q, want 403 naming %s", code, body, user)
		}
		readerToken := metricsReader(t, env, client)
		code, body, err = getSecure(ctx, port, "/metrics", readerToken)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusOK || !strings.Contains(body, "floatlb_") {
			t.Errorf("/metrics with the metrics reader's token: %d, floatlb_ metrics %v, want 200 with them\n%.500s", code, strings.Contains(body, "floatlb_"), body)
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
			// floatlb-ccm's leader-election Lease: an announcer that could
			// write it could take or stall the CCM's leadership.
			{announcer, ra("coordination.k8s.io", "leases", leaseNamespace, "update", leaseName), false},
			{announcer, ra("coordination.k8s.io", "leases", leaseNamespace, "delete", leaseName), false},
			{announcer, ra("coordination.k8s.io", "leases", "kube-system", "create", ""), false},
			{ccm, ra("", "configmaps", "kube-system", "get", "extension-apiserver-authentication"), true},
			{ccm, ra("", "configmaps", "kube-system", "watch", "extension-apiserver-authentication"), true},
			{ccm, ra("authentication.k8s.io", "tokenreviews", "", "create", ""), true},
			{ccm, ra("authorization.k8s.io", "subjectaccessreviews", "", "create", ""), true},
			{ccm, ra("", "services", "default", "patch", ""), true},
			{ccm, ra("", "services", "default", "update", "status"), true},
			{ccm, ra("", "nodes", "", "patch", ""), true},
			{ccm, ra("", "configmaps", "floatlb-system", "watch", "floatlb-config"), true},
			{ccm, ra("coordination.k8s.io", "leases", leaseNamespace, "create", ""), true},
			{ccm, ra("coordination.k8s.io", "leases", leaseNamespace, "get", leaseName), true},
			{ccm, ra("coordination.k8s.io", "leases", leaseNamespace, "update", leaseName), true},
			{ccm, ra("coordination.k8s.io", "leases", "floatlb-system", "update", "floatlb-announcer-node-a"), false},
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

// installOverlay writes the overlay example of docs/install.md next to a
// link "floatlb" to the repository, as the example expects, and returns
// its directory.
func installOverlay(t *testing.T, manifests string) string {
	t.Helper()
	repo := filepath.Dir(manifests)
	doc, err := os.ReadFile(filepath.Join(repo, "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	const first = "# my-floatlb/kustomization.yaml\n"
	_, example, ok := strings.Cut(string(doc), "```yaml\n"+first)
	if !ok {
		t.Fatalf("docs/install.md has no block starting %q", first)
	}
	example, _, _ = strings.Cut(example, "```")
	root := t.TempDir()
	overlay := filepath.Join(root, "my-floatlb")
	if err := os.Mkdir(overlay, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(repo, filepath.Join(root, "floatlb")); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"kustomization.yaml": example, "config.yaml": "pools: []\n"} {
		if err := os.WriteFile(filepath.Join(overlay, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return overlay
}

// inKubeSystem lists the objects of manifests/ that belong in kube-system;
// every other namespaced one belongs in floatlb-system.
var inKubeSystem = []string{
	// Lets floatlb-ccm read kube-system/extension-apiserver-authentication
	// (delegated authentication of its secure port).
	"RoleBinding/floatlb-ccm:authentication-reader",
	// floatlb-ccm's leader-election Lease, out of reach of the announcers,
	// which may update every Lease in floatlb-system.
	"Role/floatlb-ccm:leader-election",
	"RoleBinding/floatlb-ccm:leader-election",
}

// checkNamespaces checks that every namespaced object that kustomize
// rendered names its namespace (with no top-level namespace: in
// kustomization.yaml, one without would land in the namespace of kubectl's
// context) and that it is the one it belongs in.
func checkNamespaces(t *testing.T, client kubernetes.Interface, rendered string) {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rendered), 4096)
	namespaced := map[string]bool{} // apiVersion/kind → namespaced
	for {
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding kubectl kustomize's output: %v", err)
		}
		gvk := obj.APIVersion + "/" + obj.Kind
		if _, ok := namespaced[gvk]; !ok {
			resources, err := client.Discovery().ServerResourcesForGroupVersion(obj.APIVersion)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range resources.APIResources {
				if r.Kind == obj.Kind && !strings.Contains(r.Name, "/") {
					namespaced[gvk], found = r.Namespaced, true
				}
			}
			if !found {
				t.Fatalf("the API server does not know %s", gvk)
			}
		}
		id := obj.Kind + "/" + obj.Metadata.Name
		want := ""
		if namespaced[gvk] {
			want = "floatlb-system"
			if slices.Contains(inKubeSystem, id) {
				want = "kube-system"
			}
		}
		if obj.Metadata.Namespace != want {
			t.Errorf("%s renders in namespace %q, want %q", id, obj.Metadata.Namespace, want)
		}
	}
}

// podlessCCMArgs returns the Deployment's arguments of floatlb-ccm, changed
// only where they cannot work outside a Pod, and the secure port:
//   - in a Pod, the API server, delegated authentication and delegated
//     authorization all use the in-cluster config (the mounted token of the
//     ServiceAccount, KUBERNETES_SERVICE_HOST); here a kubeconfig with a
//     token of the same ServiceAccount stands in for it;
//   - the Pod's secure port is a port of its node (hostNetwork); here other
//     tests and processes share the machine, so a free port replaces it,
//     bound to loopback rather than to every interface;
//   - -v=2 for the log this test reads and prints on failure.
//
// Authentication lookup, leader election and everything else stay as the
// Deployment says.
func podlessCCMArgs(t testing.TB, deployment []string, kubeconfig string) ([]string, int) {
	t.Helper()
	port := freePort(t)
	var args []string
	for _, arg := range deployment {
		switch {
		case strings.HasPrefix(arg, "--secure-port="):
			arg = "--secure-port=" + strconv.Itoa(port)
		case strings.HasPrefix(arg, "--kubeconfig="), strings.HasPrefix(arg, "--authentication-kubeconfig="),
			strings.HasPrefix(arg, "--authorization-kubeconfig="), strings.HasPrefix(arg, "--bind-address="):
			t.Fatalf("the Deployment sets %s, which this test replaces: adapt podlessCCMArgs", arg)
		}
		args = append(args, arg)
	}
	if flagValue(args, "secure-port") == "" {
		args = append(args, "--secure-port="+strconv.Itoa(port))
	}
	return append(args, "--kubeconfig="+kubeconfig, "--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig, "--bind-address=127.0.0.1", "-v=2"), port
}

// flagValue returns the value of --name=value in args, or "".
func flagValue(args []string, name string) string {
	for _, arg := range args {
		if v, ok := strings.CutPrefix(arg, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// getSecure GETs path from floatlb-ccm's secure port on loopback, with
// token unless it is empty. Like the kubelet's probes it does not verify
// the self-signed serving certificate.
func getSecure(ctx context.Context, port int, path, token string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metricsReader sets up the metrics reader of docs/install.md (a
// ClusterRole allowed get on /metrics, bound to a ServiceAccount) and
// returns a token of it.
func metricsReader(t testing.TB, env *kubeenv.Env, client kubernetes.Interface) string {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "floatlb-metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}}},
	}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.EnsureServiceAccount(ctx, "floatlb-system", "metrics-reader"); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "floatlb-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "floatlb-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "floatlb-system", Name: "metrics-reader"}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token, err := env.CreateToken(ctx, "floatlb-system", "metrics-reader")
	if err != nil {
		t.Fatal(err)
	}
	return token
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

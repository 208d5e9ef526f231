// Package kubeenv runs a real etcd and kube-apiserver for floatlb's
// integration and e2e tests, and always stops them again.
//
// The binaries come from hack/build-tools.sh (make tools), which builds the
// versions pinned in hack/tools/go.mod into a cache directory outside the work
// tree. No controller-manager, scheduler or kubelet runs: objects are stored
// and validated, admission and RBAC apply, and TokenRequest works, but nothing
// reconciles them (no default ServiceAccounts, no namespace finalization, no
// EndpointSlices).
//
// Tests normally call StartT:
//
//	env := kubeenv.StartT(t, kubeenv.Options{})
//	svc, err := env.Client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
//
// StartT skips the test when the binaries are missing, unless
// FLOATLB_REQUIRE_APISERVER=1 (as in CI), where it fails instead.
package kubeenv

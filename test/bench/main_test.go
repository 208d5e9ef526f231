package bench

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/floatlb/floatlb/test/e2e/lab"
	"github.com/floatlb/floatlb/test/kubeenv"
)

// ccmBinary and announcerBinary are built once, without -race, before any
// benchmark, and only read after.
var ccmBinary, announcerBinary string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		return m.Run() // no benchmark asked for: nothing to build
	}
	dir, err := os.MkdirTemp("", "floatlb-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ccmBinary = filepath.Join(dir, "floatlb-ccm")
	announcerBinary = filepath.Join(dir, "floatlb-announcer")
	for bin, pkg := range map[string]string{ccmBinary: "cmd/ccm", announcerBinary: "cmd/announcer"} {
		build := exec.Command("go", "build", "-o", bin, "github.com/floatlb/floatlb/"+pkg)
		// Static, as the image ships them (and sharing the build cache
		// with hack/check-image.sh and make build).
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}

// startAnnouncer starts floatlb-announcer on h with the lab's API server
// and its metrics on h's management address, port 7475, then args.
// FLOATLB_BENCH_ANNOUNCER_ENV sets its environment (say "GOGC=50"), to
// compare runtime settings with the defaults.
func startAnnouncer(b *testing.B, l *lab.Lab, env *kubeenv.Env, h *lab.Host, args ...string) *lab.Process {
	args = append([]string{"--kubeconfig=" + env.Kubeconfig, "--node-name=" + h.Name,
		"--metrics-bind-address=" + h.Mgmt4.String() + ":7475"}, args...)
	name := announcerBinary
	if vars := strings.Fields(os.Getenv("FLOATLB_BENCH_ANNOUNCER_ENV")); len(vars) > 0 {
		name, args = "env", append(append(vars, announcerBinary), args...)
	}
	p, err := l.StartProcess(h, name, args...)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// createService creates a LoadBalancer Service in namespace bench (dual:
// PreferDualStack) and writes ips to its status, as the CCM would.
func createService(ctx context.Context, client kubernetes.Interface, name string, dual bool, ips ...netip.Addr) error {
	no := false
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &no, Ports: []v1.ServicePort{{Port: 80}}},
	}
	if dual {
		policy := v1.IPFamilyPolicyPreferDualStack
		svc.Spec.IPFamilyPolicy = &policy
	}
	svc, err := client.CoreV1().Services("bench").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	var ingress []string
	for _, ip := range ips {
		ingress = append(ingress, fmt.Sprintf(`{"ip":%q}`, ip))
	}
	patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[%s]}}}`, strings.Join(ingress, ","))
	_, err = client.CoreV1().Services("bench").Patch(ctx, svc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
}

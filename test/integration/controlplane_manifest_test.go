package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlPlaneManifest: the static Pods that `floatlb-announcer
// manifest control-plane` prints, in each mode, are valid Pods to the real
// API server (server-side dry run, which runs defaulting, validation and
// admission).
func TestControlPlaneManifest(t *testing.T) {
	env, _ := newCluster(t)
	// The ServiceAccount admission plugin looks the namespace's default
	// ServiceAccount up even for a Pod without a token (a kubelet creates
	// the mirror Pod of a static Pod without it); without a
	// kube-controller-manager nothing creates it here.
	if err := env.EnsureServiceAccount(t.Context(), "kube-system", "default"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "floatlb-announcer")
	build := exec.Command("go", "build", "-o", bin, "github.com/floatlb/floatlb/cmd/announcer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building floatlb-announcer: %v\n%s", err, out)
	}
	for mode, args := range map[string][]string{
		"vrrp": {"--control-plane-vip=198.51.100.5,2001:db8::5", "--control-plane-advert-interval=100ms"},
		"l2":   {"--control-plane-vip=198.51.100.5", "--control-plane-mode=l2", "--kubeconfig=/etc/kubernetes/super-admin.conf"},
		"bgp":  {"--control-plane-vip=198.51.100.5", "--control-plane-mode=bgp", "--control-plane-bgp-peers=192.0.2.1:64500,[2001:db8::1]:64500"},
	} {
		t.Run(mode, func(t *testing.T) {
			out, err := exec.Command(bin, append([]string{"manifest", "control-plane"}, args...)...).Output()
			if err != nil {
				t.Fatalf("floatlb-announcer manifest control-plane %s: %v", strings.Join(args, " "), err)
			}
			file := filepath.Join(t.TempDir(), "floatlb-control-plane.yaml")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			got := kubectl(t, env, "create", "--dry-run=server", "-f", file, "-o", "jsonpath={.spec.containers[0].args}")
			for _, a := range args {
				if strings.HasPrefix(a, "--control-plane-") && !strings.Contains(got, a) {
					t.Errorf("the Pod the API server returns lacks %s: %s", a, got)
				}
			}
		})
	}
}
